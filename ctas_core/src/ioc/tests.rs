use super::*;

fn found(text: &str) -> Vec<(&'static str, String)> {
    extract(text)
        .into_iter()
        .map(|i| (i.kind.as_str(), i.value))
        .collect()
}

fn has(text: &str, kind: &str, value: &str) -> bool {
    found(text).iter().any(|(k, v)| *k == kind && v == value)
}

fn kinds_of(text: &str, kind: &str) -> Vec<String> {
    found(text)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn every_type_is_found() {
    let text = "C2 at 203.0.113.7 and 2001:db8::ff00:42:8329 in 10.0.0.0/8; host evil-c2.example.com; \
        url https://evil.example.net/a/b.php?q=1; mail ops@evil.example.org; \
        md5 44d88612fea8a8f36de82e1278abb02f sha1 3395856ce81f2b7382dee72602f798b642f14140 \
        sha256 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f \
        sha512 cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e \
        ssdeep 1536:yB+A8bMtMeRlbIzvDqZL4QzNxVDm+5gt+M2hDDDvNZ3YZ7sU:N4tMsbOGcyrV6BQvnoZ4U \
        imphash 18ddf28a71089acdbab5038f58044c0a CVE-2024-3400 T1059.001 TA0001 G0016 S0154 M1036 C0001 \
        AS13335 mac 00:1A:2b:3c:4D:5e btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 \
        bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq \
        xmr 496aKKdqF1xQSSEzw7wNrkZkDUsCD5cSmNCfVhVgEps52WERBcLDGzdF5UugmFoHMm9xRJdewvK2TFfAJNwEV25rTcVF5Vp \
        eth 0x52908400098527886E0F7030069857D2E4169EE7 \
        key HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run dropped invoice.docm and stage2.ps1";
    let expect = [
        ("ipv4", "203.0.113.7"),
        ("ipv6", "2001:db8::ff00:42:8329"),
        ("cidr", "10.0.0.0/8"),
        ("domain", "evil-c2.example.com"),
        ("url", "https://evil.example.net/a/b.php?q=1"),
        ("domain", "evil.example.net"),
        ("email", "ops@evil.example.org"),
        ("md5", "44d88612fea8a8f36de82e1278abb02f"),
        ("sha1", "3395856ce81f2b7382dee72602f798b642f14140"),
        ("sha256", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"),
        ("ssdeep", "1536:yB+A8bMtMeRlbIzvDqZL4QzNxVDm+5gt+M2hDDDvNZ3YZ7sU:N4tMsbOGcyrV6BQvnoZ4U"),
        ("imphash", "18ddf28a71089acdbab5038f58044c0a"),
        ("cve", "CVE-2024-3400"),
        ("attack_technique", "T1059.001"),
        ("attack_tactic", "TA0001"),
        ("attack_group", "G0016"),
        ("attack_software", "S0154"),
        ("attack_mitigation", "M1036"),
        ("attack_campaign", "C0001"),
        ("asn", "AS13335"),
        ("mac", "00:1a:2b:3c:4d:5e"),
        ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("monero", "496aKKdqF1xQSSEzw7wNrkZkDUsCD5cSmNCfVhVgEps52WERBcLDGzdF5UugmFoHMm9xRJdewvK2TFfAJNwEV25rTcVF5Vp"),
        ("ethereum", "0x52908400098527886e0f7030069857d2e4169ee7"),
        ("registry_key", "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
        ("filename", "invoice.docm"),
        ("filename", "stage2.ps1"),
    ];
    let got = found(text);
    for (k, v) in expect {
        assert!(
            got.iter().any(|(gk, gv)| *gk == k && gv == v),
            "{k} {v} not in {got:?}"
        );
    }
    assert!(has("sha512 cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "sha512",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"));
    // Nothing else: every match above is accounted for.
    let extra: Vec<_> = got
        .iter()
        .filter(|(k, v)| !expect.iter().any(|(ek, ev)| ek == k && ev == v) && *k != "sha512")
        .collect();
    assert!(extra.is_empty(), "unexpected {extra:?}");
}

#[test]
fn defanged_forms_are_read() {
    let text =
        "hxxps[:]//evil[.]com[/]gate.php and hXXp://1.2.3[.]4:8080/x, fxp://files(.)evil{.}org/a \
        mail admin[at]evil[dot]net or root (at) x(dot)io, host bad dot example dot com, evil\\.ru";
    assert!(has(text, "url", "https://evil.com/gate.php"));
    assert!(has(text, "url", "http://1.2.3.4:8080/x"));
    assert!(has(text, "ipv4", "1.2.3.4"));
    assert!(has(text, "url", "ftp://files.evil.org/a"));
    assert!(has(text, "email", "admin@evil.net"));
    assert!(has(text, "domain", "bad.example.com"), "{:?}", found(text));
    assert!(has(text, "domain", "evil.ru"));
    // The raw text and its position are those of the text as written.
    let ioc = extract(text)
        .into_iter()
        .find(|i| i.kind == IocKind::Url)
        .unwrap();
    assert_eq!(&text[ioc.start..ioc.end], "hxxps[:]//evil[.]com[/]gate.php");
}

#[test]
fn version_strings_are_not_addresses() {
    for text in [
        "upgrade to version 2.4.1.7 now",
        "Version: 10.0.19041.1",
        "Chrome/120.0.6099.109 on v2.4.1.7",
        "build 6.1.7601.2 and 2.4.1.7.9",
        "firmware 1.0.2.13",
    ] {
        assert!(
            kinds_of(text, "ipv4").is_empty(),
            "{text}: {:?}",
            found(text)
        );
    }
    assert!(has("the server 2.4.1.7 answered", "ipv4", "2.4.1.7"));
}

#[test]
fn file_names_are_not_domains() {
    for (text, file) in [
        ("open archive.zip", "archive.zip"),
        ("see clip.mov", "clip.mov"),
        ("run shell.sh", "shell.sh"),
        ("abc.py", "abc.py"),
    ] {
        assert!(
            kinds_of(text, "domain").is_empty(),
            "{text}: {:?}",
            found(text)
        );
        assert!(has(text, "filename", file), "{text}: {:?}", found(text));
    }
    // Written defanged, or with more labels, it is a host.
    assert!(has("c2 at update[.]zip", "domain", "update.zip"));
    assert!(has("c2 at cdn.update.zip", "domain", "cdn.update.zip"));
    assert!(has("https://update.zip/x", "domain", "update.zip"));
}

#[test]
fn detection_names_are_not_domains() {
    for text in [
        "ESET detects it as Win32/Agent.ABC and MSIL/KillDisk.I",
        "Kaspersky: Trojan.Win32.Agent.xyz, HEUR:Trojan.MSIL.Generic.bar",
        "Microsoft: Trojan:Win32/Emotet.ABC!MTB, Linux/Mirai.Bar",
        "Built on ASP.NET",
    ] {
        assert!(
            kinds_of(text, "domain").is_empty(),
            "{text}: {:?}",
            found(text)
        );
    }
    assert!(has("see android.com and php.net", "domain", "android.com"));
}

#[test]
fn times_are_not_ipv6() {
    for text in ["at 23:06:41 UTC", "12:30", "std::vector<int>", "dead::beef"] {
        assert!(
            kinds_of(text, "ipv6").is_empty(),
            "{text}: {:?}",
            found(text)
        );
    }
    assert!(has("lo ::1 and fe80::1%eth0", "ipv6", "::1"));
    assert!(has("lo ::1 and fe80::1%eth0", "ipv6", "fe80::1%eth0"));
}

#[test]
fn an_md5_is_not_a_bitcoin_address() {
    let text = "hash 1e9a8e1d43b4c3a76b5a8fb1f7a7b0d3 and 3e9a8e1d43b4c3a76b5a8fb1f7a7b0d3a";
    assert!(kinds_of(text, "bitcoin").is_empty(), "{:?}", found(text));
    assert!(has(text, "md5", "1e9a8e1d43b4c3a76b5a8fb1f7a7b0d3"));
}

#[test]
fn closing_punctuation_stays_out_of_urls() {
    for (text, url) in [
        (
            "(see https://example.com/report).",
            "https://example.com/report",
        ),
        (
            "at https://example.com/a_(b)_c.",
            "https://example.com/a_(b)_c",
        ),
        ("\"https://example.com/x\", then", "https://example.com/x"),
        (
            "DownloadString('https://example[.]com/rdp.ps1')",
            "https://example.com/rdp.ps1",
        ),
        (
            "Foo https://citizenlab.ca/about/), bar",
            "https://citizenlab.ca/about/",
        ),
        ("“https://example.com/q?a=1”", "https://example.com/q?a=1"),
    ] {
        assert_eq!(kinds_of(text, "url"), vec![url.to_owned()], "{text}");
    }
}

#[test]
fn the_word_before_an_email_stays_out() {
    for text in [
        "Contact:john@example.com",
        "mailto:john@example.com",
        "reach us at john [at] example [dot] com",
    ] {
        assert_eq!(
            kinds_of(text, "email"),
            vec!["john@example.com".to_owned()],
            "{text}"
        );
    }
}

#[test]
fn an_address_out_of_range_is_not_cut_down() {
    let text = "256.1.1.1 and 255.256.344.1 and 1.2.3.256";
    assert!(kinds_of(text, "ipv4").is_empty(), "{:?}", found(text));
}

#[test]
fn registry_keys_keep_their_spaces() {
    let text = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\notepad.exe on the box. \
        Also <HKCU>\\SOFTWARE\\X\\Y. Then HKEY_USERS\\<USER SID>\\Software\\Run next";
    assert_eq!(
        kinds_of(text, "registry_key"),
        vec![
            "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\notepad.exe".to_owned(),
            "HKCU\\SOFTWARE\\X\\Y".to_owned(),
            "HKEY_USERS\\<USER SID>\\Software\\Run".to_owned(),
        ]
    );
}

#[test]
fn asn_and_cve_across_a_space() {
    assert_eq!(
        kinds_of("AS 1234, asn 99, as1 and just as 2014", "asn"),
        vec!["AS1234", "AS99", "AS1"]
    );
    assert_eq!(
        kinds_of("cve 2014-1001 and CVE-2021-44228", "cve"),
        vec!["CVE-2014-1001", "CVE-2021-44228"]
    );
    assert!(found("T1329FUN FOOT1329 T1156.0012 AT0001").is_empty());
}

#[test]
fn kind_of_a_single_value() {
    assert_eq!(kind_of("evil[.]com"), Some(IocKind::Domain));
    assert_eq!(kind_of(" 8.8.8.8 "), Some(IocKind::Ipv4));
    assert_eq!(kind_of("hxxp://evil.com/x"), Some(IocKind::Url));
    assert_eq!(kind_of("archive.zip"), Some(IocKind::FileName));
    assert_eq!(kind_of("evil.com and more"), None);
    assert_eq!(kind_of("hello"), None);
}

#[test]
fn positions_are_those_of_the_text() {
    let text = "a 1.2.3.4 b";
    let ioc = &extract(text)[0];
    assert_eq!((ioc.start, ioc.end), (2, 9));
}

mod props {
    use super::super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("evil.com".to_owned()),
            Just("https://a.example.org/x.php?q=1".to_owned()),
            Just("ftp://files.example.net/a".to_owned()),
            Just("10.1.2.3".to_owned()),
            Just("bob@mail.example.com".to_owned()),
            Just("HTTP://UP.EXAMPLE.COM".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just(".".to_owned()),
            Just(",".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            "[a-z0-9 .:/@-]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn refang_undoes_defang(parts in proptest::collection::vec(piece(), 0..12), seps in proptest::collection::vec(prop_oneof![Just(" "), Just(""), Just("\n")], 12)) {
            let mut text = String::new();
            for (p, s) in parts.iter().zip(&seps) {
                text.push_str(p);
                text.push_str(s);
            }
            prop_assume!(refang(&text) == text);
            prop_assert_eq!(refang(&defang(&text)), text);
        }

        #[test]
        fn never_panics_and_spans_are_in_bounds(text in "\\PC{0,200}") {
            for ioc in extract(&text) {
                prop_assert!(ioc.start < ioc.end && ioc.end <= text.len());
                prop_assert!(text.is_char_boundary(ioc.start) && text.is_char_boundary(ioc.end));
            }
            let _ = defang(&text);
        }
    }
}

#[test]
fn email_with_an_address_literal() {
    assert_eq!(
        kinds_of("mail test@[192.168.0.1] now", "email"),
        vec!["test@[192.168.0.1]".to_owned()],
        "{:?}",
        found("mail test@[192.168.0.1] now")
    );
}

#[test]
fn webdav_paths_written_as_urls_are_urls() {
    // As Unit 42 files them: Windows' \\host@SSL\DavWWWRoot\... as a file:// URL.
    let text = "lnk fetches file://Sunshine-Bizrate.trycloudflare.com@SSL/DavWWWRoot/Modelo-34.pdf.lnk \
                then file://101.99.94.234@8789/DavWWWRoot/file.bat and file://host.example.org@SSL@8443/a.cmd";
    assert_eq!(
        kinds_of(text, "url"),
        [
            "file://sunshine-bizrate.trycloudflare.com@SSL/DavWWWRoot/Modelo-34.pdf.lnk",
            "file://101.99.94.234@8789/DavWWWRoot/file.bat",
            "file://host.example.org@SSL@8443/a.cmd",
        ]
    );
    assert!(has(text, "domain", "sunshine-bizrate.trycloudflare.com"));
    assert!(has(text, "ipv4", "101.99.94.234"));
    assert!(has(text, "domain", "host.example.org"));
    // A user name before the host is still a user name, and an @ followed by anything
    // else than SSL or a port is not a WebDAV path.
    assert_eq!(
        kinds_of("ftp://anna@files.example.org/x", "url"),
        ["ftp://anna@files.example.org/x"]
    );
    assert!(kinds_of("file://files.example.org@notaport/x", "url").is_empty());
}

#[test]
fn onion_services_are_domains_in_every_form_an_analyst_writes() {
    // The Tor Project's v3 onion service; rend-spec-v3's checksum holds for it.
    let tor = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
    for (text, kinds) in [
        (format!("panel at {tor}."), vec![("domain", tor.to_owned())]),
        (
            format!(
                "panel at hxxp://{}/admin",
                tor.replace(".onion", "[.]onion")
            ),
            vec![
                ("url", format!("http://{tor}/admin")),
                ("domain", tor.to_owned()),
            ],
        ),
        (
            format!("mirror www.{}", tor.to_uppercase()),
            vec![("domain", format!("www.{tor}"))],
        ),
        (
            format!("mail ops@{tor}"),
            vec![("email", format!("ops@{tor}"))],
        ),
        // v2: 16 base32 characters, no checksum to hold.
        (
            "old v2 expyuzz4wqqyqhjn.onion".to_owned(),
            vec![("domain", "expyuzz4wqqyqhjn.onion".to_owned())],
        ),
    ] {
        let got: Vec<(&str, String)> = found(&text)
            .into_iter()
            .filter(|(k, _)| kinds.iter().any(|(want, _)| want == k))
            .collect();
        assert_eq!(got, kinds, "{text}");
    }
    // A name that is not an onion address, or a v3 address whose checksum fails.
    let broken = tor.replacen("2gzy", "2gzz", 1);
    for text in [
        "see notanaddress.onion".to_owned(),
        format!("see {broken}"),
        "c2.test www.example bad.invalid api.localhost".to_owned(),
    ] {
        assert!(kinds_of(&text, "domain").is_empty(), "{text}");
    }
}

/// Every form of `tests/ioc-forms.json` (markup, quotes, punctuation, special-use
/// names) gives exactly the indicators the table lists; SQL is held to the same table.
#[test]
fn the_forms_analysts_write_give_exactly_their_indicators() {
    let table: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/ioc-forms.json")).unwrap();
    let mut failed = Vec::new();
    for form in table["forms"].as_array().unwrap() {
        let text = form["text"].as_str().unwrap();
        let mut want: Vec<(String, String)> = form["iocs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect();
        let mut got: Vec<(String, String)> = found(text)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        want.sort();
        got.sort();
        if got != want {
            failed.push(format!(
                "{}: {text:?}\n  want {want:?}\n  got  {got:?}",
                form["form"]
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
