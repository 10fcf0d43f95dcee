"""Summarises Benchmarks/qos-proof.sh's runs: reads WORK/RUN.rtp, RUN.http (one JSON viewer
per line, from `sluice bench ... --viewers-file`) and RUN.drops, prints one JSON line, and
writes WORK/RUN.dat (one row per viewer) for qos-plot.gp.

    python3 qos-summary.py WORK VIEWERS BOTTLENECK_MBIT UPLINK_MBIT MEDIA_BPS SECONDS RUN...
"""
import json
import statistics
import sys

work, viewers, bottleneck, uplink, media, seconds, *runs = sys.argv[1:]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rounded(value, digits=3):
    return None if value is None else round(value, digits)


summary = {"viewers": int(viewers), "bottleneckMbit": int(bottleneck), "uplinkMbit": int(uplink),
           "mediaMbit": int(media) / 1e6, "seconds": int(seconds), "runs": {}}
for run in runs:
    rtp, http = load(f"{work}/{run}.rtp"), load(f"{work}/{run}.http")
    everyone = rtp + http
    admitted = [v for v in everyone if v["admitted"]]
    refused = [v for v in everyone if v.get("refusalMilliseconds") is not None]
    loss = [v["lossPercent"] for v in rtp if v["admitted"]]
    lateness = [v["latenessP99Milliseconds"] for v in rtp if v["admitted"] and v.get("latenessP99Milliseconds") is not None]
    stall = [v["stallSeconds"] for v in http if v["admitted"] and v.get("stallSeconds") is not None]
    startup = [v["startupMilliseconds"] for v in admitted if v.get("startupMilliseconds") is not None]
    with open(f"{work}/{run}.drops") as f:
        bottleneck_drops, *uplink_drops = (int(x or 0) for x in f.read().split())
    failures = [v.get("error") for v in everyone if not v["admitted"] and v.get("refusalMilliseconds") is None]
    summary["runs"][run] = {
        "viewers": len(everyone), "admitted": len(admitted), "refused": len(refused),
        "failed": len(failures), "firstFailure": failures[0] if failures else None,
        "rtpAdmitted": len(loss), "httpAdmitted": len(stall),
        "lossPercentMax": rounded(max(loss, default=0)), "lossPercentMedian": rounded(statistics.median(loss) if loss else 0),
        "rtpLossPercentMax": rounded(max(loss, default=0)),
        "latenessP99Ms": rounded(max(lateness, default=0)),
        "stallSecondsMax": rounded(max(stall, default=0)), "stallSecondsMedian": rounded(statistics.median(stall) if stall else 0),
        "refusalMsMax": rounded(max((v["refusalMilliseconds"] for v in refused), default=0), 1),
        "startupMsMedian": rounded(statistics.median(startup) if startup else 0, 1),
        "tcDrops": bottleneck_drops, "uplinkDrops": sum(uplink_drops),
    }
    # index, RTP loss %, HTTP stall s, refused (1) - NaN where the column does not apply.
    with open(f"{work}/{run}.dat", "w") as f:
        for i, v in enumerate(rtp + http, 1):
            is_rtp = v["transport"] == "rtp"
            loss_value = v.get("lossPercent") if is_rtp and v["admitted"] else None
            stall_value = v.get("stallSeconds") if not is_rtp and v["admitted"] else None
            f.write(f"{i} {'NaN' if loss_value is None else loss_value} {'NaN' if stall_value is None else stall_value} "
                    f"{0 if v['admitted'] else 1} {1 if is_rtp else 0}\n")
print(json.dumps(summary, separators=(",", ":")))
