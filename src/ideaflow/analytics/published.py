"""Every published figure the tool prints, with where it comes from (one place).

`PUBLISHED[key]` is a `PublishedFigure`: the value as printed, the paper, where in the
paper, what exactly was measured and whether that was checked against the source text.
The findings of `analyze` and `facts` carry `cite(key)` under their `published` key, the
printed tables put a short reference (`[1]`...) next to the value and list the papers
under the table. docs/published.md is the same table for readers.

A value marked `confirmed=False` is one whose number (or its place in the paper) could
not be checked against the paper's text when this table was written: it is kept because
the tool has long printed it, and the table says so rather than invent a page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PAPERS: dict[str, str] = {
    "pentland2013": (
        'A. Pentland, "Beyond the Echo Chamber", Harvard Business Review, November 2013 '
        "(reprint R1311E)"
    ),
    "pan2012": (
        'W. Pan, Y. Altshuler, A. Pentland, "Decoding Social Influence and the Wisdom of the '
        'Crowd in Financial Trading Network", SocialCom-PASSAT 2012, IEEE, pp. 203-209, '
        "doi:10.1109/SocialCom-PASSAT.2012.133"
    ),
    "joseph2025": (
        'B. Joseph, C. Riedl, A. Pentland, E. Moro, "When Influence Misleads: Informational '
        'and Strategic Limits of Social Learning in Trading Networks", arXiv:2507.01817 (2025)'
    ),
    "esma2018": (
        "ESMA product intervention on CFDs for retail clients, Decision (EU) 2018/796 of "
        "22 May 2018, and the risk warnings EU brokers must show since"
    ),
}

# short references printed next to the values, in this order
REFS: dict[str, int] = {"pentland2013": 1, "pan2012": 2, "joseph2025": 3, "esma2018": 4}


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure: `value` (None for a qualitative claim), how it is printed,
    the paper (a key of `PAPERS`), where in it, what was measured, and whether the number
    and its place were checked against the text."""

    value: float | None
    display: str
    paper: str
    where: str
    measured: str
    confirmed: bool
    interval: tuple[float, float] | None = None  # a published range instead of one value

    @property
    def ref(self) -> str:
        return f"[{REFS[self.paper]}]"


PUBLISHED: dict[str, PublishedFigure] = {
    "idea_flow_uplift_pct": PublishedFigure(
        value=30.0,
        display="+30%",
        paper="pentland2013",
        where="article text (no figure or table number given)",
        measured=(
            "return on investment of eToro traders (2011, 1.6 million users) with 'the right "
            "level of diversity of ideas and people in their networks' vs isolated traders "
            "(30% higher); they 'equally outperformed' traders trapped in an echo chamber"
        ),
        confirmed=True,
    ),
    "social_vs_single": PublishedFigure(
        value=None,
        display="social > single",
        paper="pan2012",
        where="abstract (the figures behind it not checked here)",
        measured=(
            "returns of social trades (copied or followed) vs individual (single) trades on "
            "an online foreign-exchange brokerage with a social network; qualitative"
        ),
        confirmed=True,
    ),
    "popularity_per_trader_corr": PublishedFigure(
        value=0.11,
        display="0.11",
        paper="joseph2025",
        where="not confirmed: the number and its figure/table were not found in the text "
        "available here",
        measured=(
            "mean per-trader correlation of popularity (followers) and performance over time; "
            "the abstract says popularity is 'a signal poorly correlated with actual "
            "performance'"
        ),
        confirmed=False,
    ),
    "exploration_slope": PublishedFigure(
        value=2.06,
        display="2.06",
        paper="joseph2025",
        where="binned exploration-vs-performance figure (Fig. 2d per the study's replication "
        "file Data/fig2_d.csv, 3,359 traders); number and units not confirmed here",
        measured=(
            "slope of 100 x mean performance on ln(mean exploration rate gamma) over ten "
            "equal-count bins of gamma, unweighted least squares (binned_fit "
            "procedure='study'); compare signs and orders of magnitude"
        ),
        confirmed=False,
    ),
    "popularity_weight_ratio": PublishedFigure(
        value=46.0,
        display="46x",
        paper="joseph2025",
        where="not confirmed: the number and its place were not found in the text available here",
        measured=(
            "how much more popularity than performance weighs in whom traders choose to "
            "mirror (the generator's default w_performance = 1/46 of w_popularity)"
        ),
        confirmed=False,
    ),
    "losing_share": PublishedFigure(
        value=None,
        display="74-89%",
        paper="esma2018",
        where="the range of retail CFD accounts losing money in the standard EU risk warning "
        "(quoted verbatim by brokers); its exact place in the Decision not checked here",
        measured=(
            "share of retail CFD accounts that lost money, from national regulators' data; "
            "providers' own mandatory disclosures since are mostly 70-80% (not a single "
            "source)"
        ),
        confirmed=True,
        interval=(0.74, 0.89),
    ),
    "etoro2011_scale": PublishedFigure(
        value=1_600_000.0,
        display="1.6M users",
        paper="pentland2013",
        where="article text",
        measured="eToro users in the 2011 data (the `etoro2011` preset's scale); the ~10 "
        "million trades often quoted with it were not confirmed in a primary source here",
        confirmed=True,
    ),
}


def cite(key: str) -> dict[str, Any]:
    """The published figure `key` as a JSON-ready dict (with the paper's full reference)."""
    fig = PUBLISHED[key]
    out = asdict(fig)
    if fig.interval is not None:
        out["interval"] = list(fig.interval)
    out["source"] = PAPERS[fig.paper]
    out["ref"] = fig.ref
    return out


def printed(key: str) -> str:
    """How a table prints the figure: value and short reference, e.g. "+30% [1]"."""
    fig = PUBLISHED[key]
    mark = "" if fig.confirmed else "?"
    return f"{fig.display} {fig.ref}{mark}"


def references(keys: list[str] | None = None) -> list[str]:
    """Lines listing the papers behind `keys` (all by default), for under a table."""
    papers = sorted(
        {PUBLISHED[k].paper for k in (keys or list(PUBLISHED))}, key=lambda paper: REFS[paper]
    )
    lines = [f"[{REFS[p]}] {PAPERS[p]}" for p in papers]
    lines.append("? = number or its place in the paper not confirmed (docs/published.md)")
    return lines
