//! Word lists that tell an indicator from text that only looks like one.

/// File extensions of executables, scripts, documents and archives: `name.ext` with
/// one of these is a file name. Several are also TLDs (`.zip`, `.sh`, `.py`, `.mov`).
pub const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "scr", "cpl", "ocx", "drv", "efi", "msi", "msp", "msc", "lnk", "pif",
    "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ws", "hta",
    "jar", "class", "py", "pyc", "rb", "sh", "bash", "php", "asp", "aspx", "jsp", "elf", "so",
    "bin", "dylib", "apk", "dex", "ipa", "deb", "rpm", "doc", "docx", "docm", "dotm", "xls",
    "xlsx", "xlsm", "xlsb", "xlam", "ppt", "pptx", "pptm", "rtf", "pdf", "chm", "iso", "img",
    "vhd", "vhdx", "zip", "rar", "7z", "gz", "tgz", "tar", "cab", "ace", "arj", "xz", "bz2", "lzh",
    "mov", "inf", "reg", "url", "iqy", "slk", "xll", "wll",
];

/// Whether `ext` is one of [`FILE_EXTENSIONS`]. Those that are also TLDs are kept only
/// where `name.ext` is far more often a file than a host: `.com`, `.app`, `.pl`, `.ws`
/// and `.one` are left out, being hosts first.
pub fn is_file_extension(ext: &[u8]) -> bool {
    FILE_EXTENSIONS
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e.as_bytes()))
}

/// Words of antivirus detection names (`Win32/Agent.ABC`, `Trojan.Win32.Agent.xyz`,
/// `HEUR:Trojan-Dropper.MSIL.Agent.gen`) that never stand as a label of a host name: a
/// name holding one as a label is a detection.
const STRONG_DETECTION_WORDS: &[&str] = &[
    "win32",
    "win64",
    "w32",
    "w64",
    "msil",
    "w97m",
    "x97m",
    "o97m",
    "trojan",
    "backdoor",
    "hacktool",
    "trojandownloader",
    "trojandropper",
    "trojan-dropper",
    "trojan-downloader",
    "trojan-spy",
    "trojan-ransom",
    "not-a-virus",
    "heur",
    "riskware",
    "adware",
    "spyware",
    "ransom",
];

/// Platforms and categories that are also labels of real hosts (`android.com`,
/// `php.net`): they make a detection only before a `/` or `:` (`Linux/Mirai.B`).
const PLATFORM_WORDS: &[&str] = &[
    "linux",
    "android",
    "osx",
    "macos",
    "multi",
    "js",
    "vbs",
    "vba",
    "html",
    "pdf",
    "java",
    "php",
    "python",
    "perl",
    "unix",
    "elf",
    "bat",
    "powershell",
    "script",
    "worm",
    "virus",
    "pua",
    "pup",
    "exploit",
    "downloader",
    "dropper",
    "generic",
    "packed",
    "suspicious",
    "malware",
    "gen",
    "variant",
    "msoffice",
    "office",
    "doc",
    "xml",
    "irc",
    "dos",
    "boot",
];

fn one_of(word: &[u8], words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

pub fn is_strong_detection_word(word: &[u8]) -> bool {
    one_of(word, STRONG_DETECTION_WORDS)
}

pub fn is_detection_word(word: &[u8]) -> bool {
    one_of(word, STRONG_DETECTION_WORDS) || one_of(word, PLATFORM_WORDS)
}

/// Names of software that end in a TLD.
const NOT_DOMAINS: &[&str] = &["asp.net", "vb.net", "ado.net", "vs.net", "dotnet.net"];

pub fn is_not_domain(name: &[u8]) -> bool {
    NOT_DOMAINS
        .iter()
        .any(|w| name.eq_ignore_ascii_case(w.as_bytes()))
}

/// Words after which a dotted quad is a version number, not an address.
const VERSION_WORDS: &[&str] = &[
    "version",
    "versions",
    "ver",
    "v",
    "release",
    "build",
    "update",
    "patch",
    "firmware",
    "rev",
    "revision",
    "fileversion",
    "productversion",
    "versión",
    "v.",
    "ver.",
    "kb",
];

pub fn is_version_word(word: &[u8]) -> bool {
    VERSION_WORDS
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}
