"""`voc train sentiment` and `voc eval sentiment` through the CLI."""

import csv
import json

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_eval_binary_csv_is_scored_negative_vs_rest(tmp_path):
    data = tmp_path / "binary.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "y"])
        writer.writerows([["质量太差了，退货", 0], ["非常满意，下次还来", 1], ["客服态度恶劣", 0],
                          ["物流很快，好评", 1]])
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--text-column", "review",
                                 "--label-column", "y"])
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["n"] == 4 and summary["scored_as"].startswith("negative vs non-negative")
    assert set(summary["per_class"]) == {"negative", "non-negative"}
    assert summary["accuracy"] >= 0.75


def test_eval_three_classes_on_customer_test_set():
    result = runner.invoke(app, ["eval", "sentiment", "--data",
                                 str(ROOT / "tests/data/sentiment_customer_test.csv")])
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["scored_as"] == "three classes" and summary["n"] == 225
    assert summary["macro_f1"] >= 0.5 and summary["accuracy"] >= 0.6


def test_eval_names_a_missing_column(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text,label\n好,1\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(data), "--label-column", "gold"])
    assert result.exit_code != 0
    assert "gold" in str(result.exception) or "gold" in result.output


def test_train_writes_a_versioned_model_with_card(tmp_path):
    out = tmp_path / "sentiment-own-v1"
    result = runner.invoke(app, ["train", "sentiment", "--out", str(out), "--no-default-data",
                                 "--data", str(ROOT / "data/labelled/sentiment_customer_calibration.csv"),
                                 "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert {"model.pt", "config.json", "MODEL.md"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["version"].startswith("sentiment-own-v1-") and "--no-default-data" in config["training_command"]
    result = runner.invoke(app, ["eval", "sentiment", "--model", str(out), "--data",
                                 str(ROOT / "tests/data/sentiment_customer_test.csv")])
    assert result.exit_code == 0 and last_json(result.output)["n"] == 225


def test_train_with_labelled_clauses_keeps_validation_and_evaluation_sets_out(tmp_path):
    clauses = tmp_path / "clauses.csv"
    rows = [("送餐太慢了，等了一个小时", "negative"), ("客服态度很好", "positive"),
            ("快递第二天就到了", "positive"), ("退款到现在还没到账", "negative"),
            ("我想问一下营业时间", "neutral")] * 4
    rows = [(f"{text}{i}", label) for i, (text, label) in enumerate(rows)]
    calibration = ROOT / "data/labelled/sentiment_customer_calibration.csv"
    with calibration.open(encoding="utf-8") as handle:
        rows.append((next(csv.DictReader(handle))["text"] + "。", "positive"))  # a near copy
    with clauses.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    out = tmp_path / "sentiment-cx-v1"
    result = runner.invoke(app, ["train", "sentiment", "--out", str(out), "--no-default-data",
                                 "--labelled", str(clauses), "--labelled-weight", "2",
                                 "--labelled-validation", "0.3", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert f"--labelled {clauses} --labelled-weight 2.0" in config["training_command"]
    assert "20 customer clauses" in config["data"][0]  # the near copy is dropped
    validation = config["metrics"]["cx_clauses_validation"]["n"]
    assert 0 < validation < 20 and f"{validation} held out" in config["data"][0]
