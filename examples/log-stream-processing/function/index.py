"""Aggregates a batch of log lines delivered by openfc's NATS trigger.

The event is a JSON array of CloudEvents (one per NATS message, see
internal/trigger's package doc). Each message is a log line, either plain
text ("2026-01-02T03:04:05Z ERROR payment failed") or JSON
({"level": "ERROR", "msg": "payment failed"}). The function returns the
number of lines per level; the async destination (onSuccess) receives it.
"""
import json


def level_of(data):
    if isinstance(data, dict):
        return str(data.get("level", "UNKNOWN")).upper()
    if isinstance(data, str):
        parts = data.split()
        # "<time> <LEVEL> <message>", or "<LEVEL> <message>"
        for token in parts[:2]:
            if token.upper() in ("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL"):
                return "WARN" if token.upper() == "WARNING" else token.upper()
    return "UNKNOWN"


def handler(event, context):
    batch = json.loads(event)
    levels = {}
    sequences = []
    for e in batch:
        level = level_of(e.get("data"))
        levels[level] = levels.get(level, 0) + 1
        if e.get("natssequence"):
            sequences.append(e["natssequence"])
    summary = {"messages": len(batch), "levels": levels}
    if sequences:
        summary["firstSequence"], summary["lastSequence"] = min(sequences), max(sequences)
    print("aggregated %d log lines: %s" % (len(batch), json.dumps(levels, sort_keys=True)))
    return json.dumps(summary, sort_keys=True)
