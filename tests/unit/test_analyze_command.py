"""`voc analyze` and `voc eval mentions` end to end on tiny inputs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app
from flows.commands.mentions import id_half, pair_scores, parse_pairs
from tests.conftest import ROOT

CONFIG = str(ROOT / "configs/base/pipeline.yaml")


def test_analyze_json_prints_one_object_per_line_with_mentions(tmp_path):
    feedback = tmp_path / "feedback.txt"
    feedback.write_text("味道不错，送餐太慢了\n\n客服态度太差了，我很生气！\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", "--file", str(feedback), "--json",
                                      "--config", CONFIG])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    first = lines[0]
    assert [(m["stage"], m["sentiment"]) for m in first["mentions"]] == [
        ("use", "positive"), ("deliver", "negative")]
    for mention in first["mentions"]:
        assert {"start", "end", "text", "aspect", "stage", "sentiment", "score",
                "emotions"} <= set(mention)
        sentence = first["sentences"][mention["sentence"]]["text"]
        assert sentence[mention["start"]:mention["end"]] == mention["text"]
        assert first["text"][mention["doc_start"]:mention["doc_end"]] == mention["text"]
    assert all(isinstance(t["topic_id"], int) for t in first["sentences"])
    assert "anger" in lines[1]["mentions"][0]["emotions"]


def test_analyze_needs_text_or_file():
    result = CliRunner().invoke(app, ["analyze"])
    assert result.exit_code == 2 and "give either TEXT or --file" in result.output


def test_pair_scores_and_halves():
    gold = [parse_pairs("use:positive|deliver:negative"), parse_pairs("billing:negative")]
    predicted = [{("use", "positive")}, {("billing", "negative"), ("support", "negative")}]
    scores = pair_scores(gold, predicted)
    assert scores["found_share"] == round(2 / 3, 4) and scores["wrong_share"] == round(1 / 3, 4)
    assert scores["per_stage"]["deliver"]["found"] == 0
    assert (id_half("m0001"), id_half("m0002")) == ("odd", "even")


def test_eval_mentions_prints_json_last(tmp_path):
    data = tmp_path / "pairs.csv"
    data.write_text("id,channel,industry,text,pairs\n"
                    "m0001,chat,food,味道不错，送餐太慢了,use:positive|deliver:negative\n"
                    "m0002,chat,food,客服态度很差,support:negative\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "mentions", "--data", str(data), "--config", CONFIG])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 2 and summary["odd"]["n"] == 1 and summary["even"]["n"] == 1
    assert summary["odd"]["found_share"] == 1.0 and summary["even"]["found_share"] == 1.0
    assert summary["wrong_share"] == 0.0


def test_eval_mentions_ids_scores_one_half_only(tmp_path):
    data = tmp_path / "pairs.csv"
    data.write_text("id,channel,industry,text,pairs\n"
                    "m0001,chat,food,味道不错，送餐太慢了,use:positive|deliver:negative\n"
                    "m0002,chat,food,客服态度很差,support:negative\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "mentions", "--data", str(data), "--config", CONFIG,
                                      "--ids", "odd", "--show-errors", "--half", "all"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 1 and summary["expected_pairs"] == 2 and "even" not in summary
    assert summary["odd"]["n"] == 1 and "m0002" not in result.stdout
    result = CliRunner().invoke(app, ["eval", "mentions", "--data", str(data), "--config", CONFIG,
                                      "--ids", "first"])
    assert result.exit_code != 0
