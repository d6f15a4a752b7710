"""The Streamlit entry point: ``streamlit run`` this file (``python -m ctas.dashboard``
does, with the settings it needs)."""

import streamlit as st

from ctas.dashboard import hotspots, lookup, operations, reports

st.set_page_config(page_title="CTAS", page_icon="⬢", layout="wide")
st.navigation(
    [
        st.Page(hotspots.page, title="Hotspots", url_path="hotspots", default=True),
        st.Page(lookup.page, title="Lookup", url_path="lookup"),
        st.Page(reports.page, title="Reports", url_path="reports"),
        st.Page(operations.page, title="Operations", url_path="operations"),
    ]
).run()
