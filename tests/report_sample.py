"""Synthetic, deterministic output tables for several run dates: demos, tests and report design.

`sample_frames(last_date, days)` returns the six tables per run date as the flow would write them
(painpoints built by nlp.painpoints and given trends by nlp.trends from the earlier dates), with
stable topic ids, all four channels and a spike on the last date (topic 2, 客服电话打不通).
`write_sample(sink, frames)` writes them date by date. No model is run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from flows.sinks.base import Sink
from flows.sinks.schema import SCHEMA_VERSION, to_arrow
from nlp.config import TrendSettings

log = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
CHANNELS = ("complaint", "forum", "chat", "call")
OUTLIER_ID = -1
STAGE_WEIGHTS = {"discover": 0.6, "evaluate": 0.7, "purchase": 0.9, "deliver": 1.0, "use": 1.0,
                 "support": 1.0, "billing": 0.9, "leave": 1.2, "unknown": 0.5}

# topic id -> (stage, label, keywords, daily volume, negative share, channel weights, verbatims)
TOPICS: dict[int, tuple[str, str, list[str], int, float, tuple[float, ...], list[str]]] = {
    0: ("deliver", "物流延迟", ["物流", "快递", "延迟", "不更新", "催单"], 14, 0.7, (3, 2, 3, 1), [
        "快递三天了还没到，物流信息一直不更新",
        "催了好几次单，客服只会说再等等",
        "说好次日达，结果拖了一个星期",
        "物流显示已签收，可我根本没收到",
    ]),
    1: ("billing", "多扣年费", ["年费", "扣费", "信用卡", "多扣", "通知"], 10, 0.8, (4, 1, 2, 3), [
        "信用卡多扣了年费，也没有提前通知",
        "莫名其妙扣了两次月费，要求退回",
        "账单里多了一笔服务费，谁也说不清楚",
    ]),
    2: ("support", "电话打不通", ["客服", "电话", "打不通", "转人工", "排队"], 8, 0.75,
        (2, 1, 2, 4), [
        "客服电话一直打不通，转人工要等半小时",
        "打了五次电话都在排队，最后直接挂断",
        "在线客服只有机器人，根本转不了人工",
        "这是我第三次联系你们了，问题还是没人管",
    ]),
    3: ("use", "宽带断网", ["宽带", "断网", "信号", "网速", "维修"], 9, 0.65, (3, 3, 1, 2), [
        "宽带晚上老是断网，游戏根本打不了",
        "网速只有承诺的一半，测速截图都发了",
        "报修两天了维修师傅还没上门",
    ]),
    4: ("leave", "销户手续费", ["销户", "手续费", "太高", "换一家", "注销"], 5, 0.85, (2, 1, 1, 3), [
        "手续费太高了，我要销户",
        "再这样下去就换一家运营商",
        "注销账户还要收费，太离谱了",
    ]),
    5: ("purchase", "优惠券失效", ["优惠券", "下单", "失败", "支付", "活动"], 7, 0.55, (1, 3, 3, 0.5), [
        "优惠券用不了，下单一直失败",
        "活动页写着满减，结算时却没有优惠",
        "支付成功了订单却显示未付款",
    ]),
    6: ("discover", "营销短信骚扰", ["营销短信", "骚扰", "退订", "推销电话", "广告"], 6, 0.6,
        (2, 3, 0.5, 1), [
        "天天发营销短信，退订了还在发",
        "推销电话一天打三次，烦死了",
        "广告上说首月免费，结果根本不是",
    ]),
    7: ("evaluate", "套餐咨询", ["套餐", "价格", "咨询", "资费", "对比"], 6, 0.3, (1, 3, 2, 1), [
        "套餐价格说不清楚，咨询了三次都不一样",
        "想对比一下两个套餐的资费，页面上找不到",
        "客服推荐的套餐比官网还贵",
    ]),
    8: ("support", "退款进度", ["退款", "审核", "进度", "到账", "申请"], 7, 0.7, (3, 2, 2, 1), [
        "退款申请提交一周了还在审核",
        "说好三个工作日到账，现在还没收到",
        "退款进度查不到，客服让我继续等",
    ]),
    OUTLIER_ID: ("unknown", "未归类", [], 6, 0.2, (1, 1, 1, 1), [
        "好的谢谢",
        "我再看看吧",
        "嗯嗯知道了",
    ]),
}
POSITIVE = ["这次处理得很快，谢谢客服", "问题解决了，服务态度不错", "师傅很专业，点赞"]


def _sentiment(rng: np.random.Generator, negative: bool) -> tuple[str, float]:
    if negative:
        return "negative", round(float(-rng.uniform(0.35, 0.95)), 3)
    if rng.random() < 0.5:
        return "neutral", round(float(rng.uniform(-0.2, 0.2)), 3)
    return "positive", round(float(rng.uniform(0.3, 0.9)), 3)


def _day(run_date: date, rng: np.random.Generator, scale: float,
         boost: dict[int, float]) -> dict[str, pd.DataFrame]:
    """One run date's utterances, documents, topics and quarantine frames (no painpoints)."""
    run_id = f"{run_date.isoformat()}-020000-1"
    utterances, documents = [], []
    for topic_id, (stage, _label, _kw, volume, neg_share, weights, texts) in TOPICS.items():
        n = int(rng.poisson(volume * scale * boost.get(topic_id, 1.0)))
        probs = np.array(weights) / sum(weights)
        for i in range(n):
            channel = CHANNELS[int(rng.choice(len(CHANNELS), p=probs))]
            record_id = f"{channel[:2]}{run_date:%m%d}t{topic_id + 1:02d}n{i:03d}"
            negative = rng.random() < neg_share
            label, score = _sentiment(rng, negative)
            text = texts[int(rng.integers(len(texts)))] if negative or topic_id == OUTLIER_ID \
                else POSITIVE[int(rng.integers(len(POSITIVE)))]
            created = datetime.combine(run_date - timedelta(days=1), datetime.min.time(), TZ) \
                + timedelta(minutes=int(rng.integers(0, 24 * 60)))
            turns = [("customer", text)]
            if channel in ("chat", "call"):
                turns = [("agent", "您好，请问有什么可以帮您"), ("customer", text),
                         ("agent", "非常抱歉，我帮您登记一下"), ("customer", "我的手机号是[手机号]，尽快回电")]
            sentence_index = 0
            for turn_index, (role, line) in enumerate(turns):
                is_main = role == "customer" and line == text
                row = {
                    "record_id": record_id, "channel": channel, "created_at": created,
                    "turn_index": turn_index, "sentence_index": sentence_index, "role": role,
                    "text": line, "tokens": list(line[:6]), "language": "zh",
                    "sentiment_label": None, "sentiment_score": None,
                    "sentiment_confidence": None, "stage": None, "stage_confidence": None,
                    "stage_method": None, "stage_evidence": None, "touchpoint": None,
                    "topic_id": OUTLIER_ID, "signals": [],
                }
                if role == "customer":
                    row.update(sentiment_label=label if is_main else "neutral",
                               sentiment_score=score if is_main else 0.0,
                               sentiment_confidence=0.8, stage=stage if is_main else "unknown",
                               stage_confidence=0.7, stage_method="cue" if is_main else "none",
                               stage_evidence="", topic_id=topic_id if is_main else OUTLIER_ID)
                utterances.append(row)
                sentence_index += 1
            escalation = bool(negative and rng.random() < 0.15)
            churn = bool(negative and (stage == "leave" or rng.random() < 0.08))
            documents.append({
                "record_id": record_id, "channel": channel, "source_id": f"S-{record_id}",
                "created_at": created, "customer_key": hashlib.sha256(record_id.encode()).hexdigest()[:16],
                "industry": "telecom", "product": "宽带" if topic_id == 3 else "通用",
                "region": ["北京", "上海", "广州", "成都"][i % 4], "rating": None,
                "n_turns": len(turns), "n_customer_sentences": sum(r == "customer" for r, _ in turns),
                "language": "zh", "truncated": False, "sentiment_label": label,
                "sentiment_score": score, "mean_sentiment": score, "peak_end_score": score,
                "main_stage": stage, "stages": [stage], "main_topic": topic_id, "touchpoints": [],
                "effort_score": round(float(rng.uniform(0, 0.6 if negative else 0.2)), 3),
                "effort_transfer": False, "effort_repeat": bool(negative and rng.random() < 0.2),
                "effort_wait": bool(negative and rng.random() < 0.3), "effort_contacts": False,
                "escalation": escalation, "churn": churn, "resolution": "unknown",
                "signal_evidence": "{}", "meta": "{}",
            })
    topics = pd.DataFrame([{
        "topic_id": tid, "label": label, "keywords": kw,
        "size": sum(1 for u in utterances if u["topic_id"] == tid and u["role"] == "customer"),
        "representative": texts[:3], "stage_mix": json.dumps({stage: 1}, ensure_ascii=False),
    } for tid, (stage, label, kw, *_rest, texts) in TOPICS.items() if tid != OUTLIER_ID])
    quarantine = pd.DataFrame([{
        "channel": CHANNELS[k % 4], "source_file": f"batch_{k}.json", "location": f"line {k + 3}",
        "reason_code": ["Q103", "Q105", "Q106"][k % 3],
        "reason": ["not valid JSON", "text is empty or whitespace only",
                   "timestamp could not be parsed"][k % 3],
        "detail": "", "excerpt": "{\"text\": \"" if k % 3 == 0 else "",
    } for k in range(int(rng.integers(2, 7)))])
    mentions = pd.DataFrame([{
        "record_id": u["record_id"], "channel": u["channel"], "turn_index": u["turn_index"],
        "sentence_index": u["sentence_index"], "mention_index": 0, "start_char": 0,
        "end_char": len(u["text"]), "text": u["text"], "aspect": u["stage_evidence"] or "",
        "stage": u["stage"], "stage_method": u["stage_method"], "touchpoint": u["touchpoint"],
        "topic_id": u["topic_id"], "sentiment_label": u["sentiment_label"],
        "sentiment_score": u["sentiment_score"], "sentiment_confidence": 0.8,
        "emotions": ["disappointment"] if u["sentiment_label"] == "negative" else [],
        "emotion_scores": '{"disappointment": 0.5}' if u["sentiment_label"] == "negative"
        else "{}",
    } for u in utterances if u["role"] == "customer"])
    frames = {"utterances": pd.DataFrame(utterances), "documents": pd.DataFrame(documents),
              "topics": topics, "quarantine": quarantine, "mentions": mentions}
    return {name: frame.assign(run_id=run_id) for name, frame in frames.items()}


def sample_frames(last_date: date, days: int = 10, seed: int = 7,
                  trend_settings: TrendSettings | None = None) -> dict[date, dict[str, pd.DataFrame]]:
    """The six tables for `days` run dates ending at `last_date` (oldest first)."""
    from nlp.painpoints import build_painpoints
    from nlp.topics import TopicInfo
    from nlp.trends import add_trends

    rng = np.random.default_rng(seed)
    infos = [TopicInfo(tid, label, kw, 0, []) for tid, (_s, label, kw, *_r) in TOPICS.items()
             if tid != OUTLIER_ID]
    out: dict[date, dict[str, pd.DataFrame]] = {}
    history = pd.DataFrame()
    for offset in range(days - 1, -1, -1):
        run_date = last_date - timedelta(days=offset)
        weekend = 0.8 if run_date.weekday() >= 5 else 1.0
        boost = {2: 3.0} if offset == 0 else {}
        frames = _day(run_date, rng, weekend, boost)
        painpoints = build_painpoints(frames["utterances"], frames["documents"], infos,
                                      STAGE_WEIGHTS, 3)
        painpoints = add_trends(painpoints, history, run_date, trend_settings)
        frames["painpoints"] = painpoints.assign(run_id=frames["utterances"]["run_id"].iloc[0])
        history = pd.concat([history, painpoints.assign(run_date=run_date)], ignore_index=True)
        frames["runs"] = _runs_row(run_date, frames)
        out[run_date] = {name: frame.assign(run_date=run_date) for name, frame in frames.items()}
    return out


def _runs_row(run_date: date, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    docs, quarantine = frames["documents"], frames["quarantine"]
    per_channel = {c: {"read": int((docs["channel"] == c).sum() + (quarantine["channel"] == c).sum()),
                       "records": int((docs["channel"] == c).sum()),
                       "quarantined": int((quarantine["channel"] == c).sum()), "files": 1}
                   for c in CHANNELS}
    started = datetime.combine(run_date, datetime.min.time(), TZ) + timedelta(hours=2)
    return pd.DataFrame([{
        "run_id": frames["utterances"]["run_id"].iloc[0], "status": "completed",
        "started_at": started, "finished_at": started + timedelta(minutes=7),
        "read": len(docs) + len(quarantine) + 2, "processed": len(docs),
        "quarantined": len(quarantine), "duplicates": 2,
        "per_channel": json.dumps(per_channel, sort_keys=True),
        "sentiment_model": "voc.sentiment.v1/sample", "topic_model": "sample",
        "config_hash": "sample000000", "timings": json.dumps({"write": 0.1}),
        "schema_version": SCHEMA_VERSION,
    }])


def write_sample(sink: Sink, frames: dict[date, dict[str, pd.DataFrame]]) -> None:
    """Write each run date's frames through `sink`, oldest first."""
    for run_date, tables in sorted(frames.items()):
        sink.write(run_date, {name: to_arrow(name, frame) for name, frame in tables.items()})
    log.info("wrote %d sample run dates", len(frames))
