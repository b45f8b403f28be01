"""What the report shows, read back from a sink and shaped into plain view objects.

All selection and formatting decisions live here (and in the figure modules); the HTML template
only lays the view objects out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
from markupsafe import Markup

from flows.report.sparkline import sparkline_svg
from flows.report.theme import ALL, CHANNEL_NAMES, channel_name
from flows.sinks.base import Sink, iter_table
from flows.sinks.schema import SCHEMAS, TABLES, arrow_to_frame, to_frame
from nlp.config import ReportSettings, TrendSettings, read_yaml
from nlp.errors import NoRunError, VocError
from nlp.trends import KEY, add_trends, channel_counts, daily_series, history_window, is_finite

log = logging.getLogger(__name__)
UNASSIGNED = -1
UNKNOWN_STAGE = "unknown"
ROLE_NAMES = {"customer": "客户", "agent": "客服", "system": "系统"}


# The night's big tables (millions of rows at scale) are held as row counts per these columns
# (column `n`), counted while streaming, so the report's memory does not grow with the night;
# the passes that need rows (verbatims, conversations, the workbook's first rows) stream them from
# the sink (flows.sinks.base.iter_table).
COUNT_KEYS: dict[str, list[str]] = {
    "utterances": ["channel", "role", "stage", "topic_id", "sentiment_label"],
    "documents": ["channel", "sentiment_label"],
    # the mention section streams its own aggregates (flows/report/mentions_view.py)
    "mentions": ["channel"],
}
VERBATIM_COLUMNS = ["record_id", "channel", "created_at", "turn_index", "sentence_index", "role",
                    "text", "stage", "topic_id", "sentiment_label", "sentiment_score"]
CONVERSATION_COLUMNS = ["record_id", "turn_index", "sentence_index", "role", "text"]


@dataclass
class ReportData:
    """The run date's tables plus the history the trend views need. `utterances`, `documents`
    and `mentions` hold row counts per COUNT_KEYS (column `n`); `stream` reads their rows."""

    run_date: date
    tables: dict[str, pd.DataFrame]
    painpoint_history: pd.DataFrame  # earlier run dates only
    runs_history: pd.DataFrame  # earlier run dates and this one
    stage_names: dict[str, str] = field(default_factory=dict)
    sink: Sink | None = None

    def stream(self, table: str, columns: list[str], rows: int = 100_000):
        """`table`'s rows of this run date, `columns` only, as pandas frames in batches of at
        most `rows`."""
        if self.sink is None:
            frame = self.tables[table]
            yield frame[[c for c in columns if c in frame.columns]]
            return
        for batch in iter_table(self.sink, table, self.run_date, columns, rows):
            yield arrow_to_frame(batch)

    def workbook_tables(self, max_rows: int) -> dict[str, pd.DataFrame]:
        """The tables for report.xlsx: the big ones as their first `max_rows` rows with every
        column (`attrs["total_rows"]` keeps their full length for the sheet's note)."""
        out = {}
        for name, frame in self.tables.items():
            if name not in COUNT_KEYS or self.sink is None:
                out[name] = frame
                continue
            columns = [f.name for f in SCHEMAS[name]]
            parts, n = [], 0
            for batch in self.stream(name, columns, max(1, min(max_rows, 100_000))):
                parts.append(batch.head(max_rows - n))
                n += len(parts[-1])
                if n >= max_rows:
                    break
            head = (pd.concat(parts, ignore_index=True) if parts
                    else to_frame(name, SCHEMAS[name].empty_table()))
            head.attrs["total_rows"] = int(frame["n"].sum())
            out[name] = head
        return out

    @property
    def painpoints(self) -> pd.DataFrame:
        """The all-channel cells (per-channel rows, painpoints.by_channel, are for dashboards;
        the report's channel filter uses channel_counts)."""
        table = self.tables["painpoints"]
        if "channel" in table.columns:
            table = table[table["channel"].fillna("all") == "all"]
        return table

    def stage_name(self, stage: str | None) -> str:
        if stage is None:
            return "—"
        return self.stage_names.get(stage, "未识别" if stage == UNKNOWN_STAGE else stage)

    def stage_order(self) -> list[str]:
        """Taxonomy order first, then other stages seen, `unknown` last."""
        seen = set(self.painpoints["stage"].dropna()) | set(
            self.tables["utterances"]["stage"].dropna())  # counts: one row per stage seen
        order = [s for s in self.stage_names if s in seen]
        order += sorted(s for s in seen if s not in order and s != UNKNOWN_STAGE)
        return order + ([UNKNOWN_STAGE] if UNKNOWN_STAGE in seen else [])


def load_stage_names(taxonomy: Path | None) -> dict[str, str]:
    """Stage key -> Chinese display name, in journey order, from the taxonomy YAML."""
    if taxonomy is None:
        return {}
    try:
        stages = read_yaml(Path(taxonomy)).get("stages", {})
    except VocError as exc:
        log.warning("stage names unavailable, showing keys: %s", exc)
        return {}
    return {key: str(spec.get("name", key)) for key, spec in stages.items()
            if isinstance(spec, dict)}


def load_report_data(sink: Sink, run_date: date, report: ReportSettings,
                     trends: TrendSettings, stage_names: dict[str, str] | None = None
                     ) -> ReportData:
    """Read `run_date`'s tables (the big ones as counts, streamed) and the history window; add
    trends when the stored painpoints have none (written before trends existed)."""
    tables = {name: read_counts(sink, name, run_date) if name in COUNT_KEYS
              else sink.read_table(name, run_date) for name in TABLES}
    if all(frame.empty or ("n" in frame and not frame["n"].sum())
           for frame in tables.values()):
        raise NoRunError(f"the sink holds no rows for run date {run_date}; run "
                         f"`voc run --date {run_date}` first or pick a date that has a run")
    days = max(report.history_days, history_window(trends))
    history = sink.read_history("painpoints", run_date, days)
    runs_history = pd.concat([sink.read_history("runs", run_date, report.history_days),
                              tables["runs"]], ignore_index=True)
    painpoints = tables["painpoints"]
    if not painpoints.empty and painpoints["spike"].isna().all():
        log.info("painpoints of %s carry no trends; computing them from %d history rows",
                 run_date, len(history))
        painpoints = add_trends(painpoints, history, run_date, trends)
    tables["painpoints"] = painpoints
    return ReportData(run_date, tables, history, runs_history, stage_names or {}, sink)


def read_counts(sink: Sink, table: str, run_date: date) -> pd.DataFrame:
    """`run_date`'s rows of a big table counted per COUNT_KEYS (column `n`, nulls a key of their
    own), one Arrow batch at a time: memory grows with the distinct keys, not the rows."""
    keys = COUNT_KEYS[table]
    parts = [batch.group_by(keys).aggregate([([], "count_all")])
             for batch in iter_table(sink, table, run_date, keys) if batch.num_rows]
    if not parts:
        return to_frame(table, SCHEMAS[table].empty_table())[keys].assign(n=pd.Series(dtype=int))
    counts = pa.concat_tables(parts).group_by(keys).aggregate([("count_all", "sum")])
    frame = arrow_to_frame(counts.rename_columns([*keys, "n"]).select([*keys, "n"]))
    return frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


# ---------------------------------------------------------------- view objects for the template


@dataclass
class Kpi:
    label: str
    value: str
    note: str = ""
    tone: str = ""  # "" | "good" | "bad" | "warn"


@dataclass
class Trend:
    text: str
    tone: str
    title: str


@dataclass
class Verbatim:
    text: str
    channel: str
    created: str
    record_id: str
    sentiment: str
    conversation: list[tuple[str, str, str]]


@dataclass
class PainpointView:
    rank: int
    stage: str
    stage_name: str
    topic_id: int
    label: str
    keywords: list[str]
    volume: int
    negative_count: int
    negative_share: str
    negative_pct: float
    priority: str
    trend_7d: Trend
    trend_28d: Trend
    spike: bool
    spike_note: str
    sparkline: Markup
    channels: list[tuple[str, int, int]]  # (channel name, volume, negatives)
    channel_keys: str  # space-separated channel keys, for the filter
    by_channel: str  # JSON {channel|all: [volume, negatives]} for the filter
    verbatims: list[Verbatim]
    more: list[Verbatim]
    n_sentences: int


@dataclass
class RunInfo:
    run_id: str = "—"
    status: str = "—"
    ok: bool = False
    attempts: int = 0
    started: str = "—"
    duration: str = "—"
    sentiment_model: str = "—"
    topic_model: str = "—"
    config_hash: str = "—"
    schema_version: str = "—"


def percent(value: float | None, digits: int = 0) -> str:
    return "—" if not is_finite(value) else f"{100 * float(value):.{digits}f}%"


def trend_badge(value: object, window: str) -> Trend:
    """A trend as text with a tone: rising negative volume is bad news."""
    if not is_finite(value):
        return Trend("无历史", "muted", f"{window}：此前没有运行日期可比")
    value = float(value)
    sign = "+" if value > 0 else ""
    tone = "bad" if value >= 0.2 else ("good" if value <= -0.2 else "flat")
    arrow = "▲" if value > 0.005 else ("▼" if value < -0.005 else "■")
    return Trend(f"{arrow} {sign}{100 * value:.0f}%", tone,
                 f"{window}：今日负面句数相对此前 {window[:-1]} 天内运行日日均值的变化")


def latest_run(runs: pd.DataFrame) -> pd.Series | None:
    if runs.empty:
        return None
    return runs.sort_values("started_at", kind="stable").iloc[-1]


def run_info(data: ReportData) -> RunInfo:
    row = latest_run(data.tables["runs"])
    if row is None:
        return RunInfo()
    started, finished = row["started_at"], row["finished_at"]
    duration = "—"
    if pd.notna(started) and pd.notna(finished):
        duration = f"{(finished - started).total_seconds() / 60:.1f} 分钟"
    return RunInfo(
        run_id=str(row["run_id"]), status=str(row["status"]),
        ok=str(row["status"]) == "completed", attempts=len(data.tables["runs"]),
        started=started.strftime("%Y-%m-%d %H:%M") if pd.notna(started) else "—",
        duration=duration, sentiment_model=str(row["sentiment_model"] or "—"),
        topic_model=str(row["topic_model"] or "—"), config_hash=str(row["config_hash"] or "—"),
        schema_version=str(row["schema_version"]))


def kpis(data: ReportData) -> list[Kpi]:
    """The tiles at the top: run counts, negative share, spikes."""
    row = latest_run(data.tables["runs"])
    documents = data.tables["documents"]
    customer = data.tables["utterances"]
    customer = customer[customer["role"] == "customer"]
    n_customer = int(customer["n"].sum())
    processed = int(row["processed"]) if row is not None else int(documents["n"].sum())
    tiles = []
    previous = data.runs_history[(data.runs_history["run_date"] < data.run_date)
                                 & (data.runs_history["status"] == "completed")]
    note = ""
    if not previous.empty:
        before = int(previous.sort_values(["run_date", "started_at"]).iloc[-1]["processed"])
        if before:
            note = f"较上次运行 {100 * (processed - before) / before:+.0f}%"
    tiles.append(Kpi("处理记录", f"{processed:,}", note))
    if row is not None:
        read = int(row["read"])
        quarantined = int(row["quarantined"])
        tiles.append(Kpi("读取输入", f"{read:,}", "= 处理 + 隔离 + 重复"))
        tiles.append(Kpi("隔离", f"{quarantined:,}",
                         f"占读取 {percent(quarantined / read if read else None, 1)}",
                         "warn" if quarantined else ""))
        tiles.append(Kpi("重复跳过", f"{int(row['duplicates']):,}"))
    negative = (customer.loc[customer["sentiment_label"] == "negative", "n"].sum() / n_customer
                if n_customer else None)
    tiles.append(Kpi("负面句占比", percent(negative, 1), f"客户句 {n_customer:,}",
                     "bad" if is_finite(negative) and negative >= 0.4 else ""))
    spikes = int(data.painpoints["spike"].fillna(False).astype(bool).sum()) \
        if not data.painpoints.empty else 0
    tiles.append(Kpi("激增痛点", str(spikes), "Poisson 检验显著", "bad" if spikes else "good"))
    return tiles


def _conversation(utterances: pd.DataFrame, record_id: str, limit: int = 20
                  ) -> list[tuple[str, str, str]]:
    """(role css class, role name, text) of the record's sentences, in order."""
    turns = utterances[utterances["record_id"] == record_id].sort_values(
        ["turn_index", "sentence_index"], kind="stable")
    return [("customer" if r == "customer" else "other", ROLE_NAMES.get(r, r or ""), t or "")
            for r, t in zip(turns["role"], turns["text"], strict=True)][:limit]


def _verbatim(row: pd.Series, utterances: pd.DataFrame) -> Verbatim:
    created = row["created_at"]
    return Verbatim(
        text=str(row["text"] or ""), channel=channel_name(str(row["channel"])),
        created=created.strftime("%m-%d %H:%M") if pd.notna(created) else "",
        record_id=str(row["record_id"]),
        sentiment=str(row["sentiment_label"] or ""),
        conversation=_conversation(utterances, row["record_id"]))


def cell_sentences(customer: pd.DataFrame, examples: list[str] | None) -> pd.DataFrame:
    """A cell's customer sentences: the painpoint's example records first (most negative first,
    as the table lists them), then the rest by sentiment score; one row per distinct text."""
    order = {rid: i for i, rid in enumerate(examples or [])}
    ranked = customer.assign(
        _example=customer["record_id"].map(order).fillna(len(order)),
        _score=customer["sentiment_score"].fillna(0.0))
    ranked = ranked.sort_values(["_example", "_score", "record_id", "sentence_index"],
                                kind="stable")
    return ranked.drop_duplicates("text").drop(columns=["_example", "_score"])


def cell_verbatims(data: ReportData, examples: dict[tuple[str, int], list[str]], n: int
                   ) -> dict[tuple[str, int], pd.DataFrame]:
    """The first `n` rows of `cell_sentences` for each cell in `examples`, in one streamed pass
    over the night's utterances: each batch's cell rows are merged with the cell's best rows so
    far and cut to `n` again (a text's best row only improves, so nothing cut comes back)."""
    best: dict[tuple[str, int], pd.DataFrame] = {}
    for batch in data.stream("utterances", VERBATIM_COLUMNS):
        customer = batch[batch["role"] == "customer"]
        if customer.empty:
            continue
        for key, group in customer.groupby(list(KEY), sort=False):
            key = (key[0], int(key[1]))
            if key not in examples:
                continue
            merged = group if key not in best else pd.concat([best[key], group],
                                                             ignore_index=True)
            best[key] = cell_sentences(merged, examples[key]).head(n).reset_index(drop=True)
    return best


def conversations(data: ReportData, record_ids: set[str]) -> pd.DataFrame:
    """Every sentence row (all roles) of `record_ids`, streamed from the night's utterances."""
    parts = [batch[batch["record_id"].isin(record_ids)]
             for batch in data.stream("utterances", CONVERSATION_COLUMNS)]
    parts = [p for p in parts if len(p)]
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=CONVERSATION_COLUMNS))


def top_painpoints(data: ReportData, settings: ReportSettings) -> list[PainpointView]:
    """The first `top_n` pain points by priority with channels, sparkline and verbatims."""
    painpoints = data.painpoints
    if painpoints.empty:
        return []
    if not settings.include_unassigned:
        painpoints = painpoints[painpoints["topic_id"] != UNASSIGNED]
    top = painpoints.sort_values(["priority", "volume", "stage", "topic_id"],
                                 ascending=[False, False, True, True], kind="stable"
                                 ).head(settings.top_n)
    utterances = data.tables["utterances"]
    customer = utterances[utterances["role"] == "customer"]
    sizes = {(k[0], int(k[1])): int(n) for k, n in
             customer.groupby(list(KEY), sort=False)["n"].sum().items()}
    shown_n = settings.verbatims + settings.more_verbatims
    examples = {(r.stage, int(r.topic_id)): list(r.example_record_ids or [])
                for r in top.itertuples(index=False)}
    verbatims = cell_verbatims(data, examples, shown_n)
    talk = conversations(data, {rid for frame in verbatims.values()
                                for rid in frame["record_id"]})
    per_channel = channel_counts(utterances)
    series = daily_series(data.painpoint_history, top.assign(run_date=data.run_date), top)
    spike_days = set()
    for frame in (data.painpoint_history, top.assign(run_date=data.run_date)):
        if not frame.empty and "spike" in frame:
            flagged = frame[frame["spike"].fillna(False).astype(bool)]
            spike_days |= set(zip(flagged["run_date"], flagged["stage"], flagged["topic_id"],
                                  strict=True))
    views = []
    for rank, row in enumerate(top.itertuples(index=False), start=1):
        rows = series[(series["stage"] == row.stage) & (series["topic_id"] == row.topic_id)]
        counts = rows["negative_count"].tolist()
        flags = [(d, row.stage, row.topic_id) in spike_days for d in rows["run_date"]]
        dates = [d.isoformat() for d in rows["run_date"]]
        mine = per_channel[(per_channel["stage"] == row.stage)
                           & (per_channel["topic_id"] == row.topic_id)]
        channels = [(channel_name(c), int(v), int(n)) for c, v, n in
                    zip(mine["channel"], mine["volume"], mine["negative_count"], strict=True)]
        by_channel = {ALL: [int(row.volume), int(row.negative_count)]}
        by_channel.update({c: [int(v), int(n)] for c, v, n in
                           zip(mine["channel"], mine["volume"], mine["negative_count"],
                               strict=True)})
        sentences = verbatims.get((row.stage, int(row.topic_id)),
                                  pd.DataFrame(columns=VERBATIM_COLUMNS))
        shown = [_verbatim(r, talk) for _, r in sentences.head(settings.verbatims).iterrows()]
        more = [_verbatim(r, talk) for _, r in sentences.iloc[
            settings.verbatims:settings.verbatims + settings.more_verbatims].iterrows()]
        spike_note = ""
        if bool(row.spike):
            spike_note = f"z = {float(row.spike_z):.1f}, p = {float(row.spike_p):.1g}"
        views.append(PainpointView(
            rank=rank, stage=row.stage, stage_name=data.stage_name(row.stage),
            topic_id=int(row.topic_id), label=row.topic_label or f"话题 {row.topic_id}",
            keywords=list(row.keywords or [])[:5], volume=int(row.volume),
            negative_count=int(row.negative_count),
            negative_share=percent(row.negative_share),
            negative_pct=round(100 * float(row.negative_share or 0), 1),
            priority=f"{float(row.priority):.1f}",
            trend_7d=trend_badge(row.trend_7d, "7日"),
            trend_28d=trend_badge(row.trend_28d, "28日"),
            spike=bool(row.spike), spike_note=spike_note,
            sparkline=sparkline_svg(counts, flags, dates),
            channels=channels, channel_keys=" ".join(mine["channel"].astype(str)),
            by_channel=json.dumps(by_channel, sort_keys=True),
            verbatims=shown, more=more, n_sentences=sizes.get((row.stage, int(row.topic_id)), 0),
        ))
    return views


def channel_options(data: ReportData) -> list[tuple[str, str]]:
    """(value, label) of the channel filter: every channel, then those present today."""
    present = set(data.tables["documents"]["channel"].dropna()) | set(
        data.tables["utterances"]["channel"].dropna())
    ordered = [c for c in CHANNEL_NAMES if c in present] + sorted(present - set(CHANNEL_NAMES))
    return [(ALL, "全部渠道")] + [(c, channel_name(c)) for c in ordered]


def generated_at(tz: str = "Asia/Shanghai") -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
