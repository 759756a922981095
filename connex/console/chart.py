"""The overview's chart of documents per day as bar geometry for an inline SVG (no script, no image file)."""

from __future__ import annotations

WIDTH, HEIGHT, GAP = 300, 60, 2


def bars(days: list[tuple[str, int, int]]) -> dict:
    """``days``: ``(day, done, failed)``; done bars stand on the baseline, failed ones on top of them."""
    peak = max((done + failed for _, done, failed in days), default=0) or 1
    step = WIDTH / max(len(days), 1)
    out = []
    for i, (day, done, failed) in enumerate(days):
        done_h = round(HEIGHT * done / peak, 1)
        failed_h = round(HEIGHT * failed / peak, 1)
        out.append({"day": day, "done": done, "failed": failed, "x": round(i * step, 1), "w": round(step - GAP, 1),
                    "done_y": round(HEIGHT - done_h, 1), "done_h": done_h,
                    "failed_y": round(HEIGHT - done_h - failed_h, 1), "failed_h": failed_h})
    return {"bars": out, "width": WIDTH, "height": HEIGHT, "peak": peak if any(d + f for _, d, f in days) else 0,
            "done": sum(d for _, d, _ in days), "failed": sum(f for _, _, f in days),
            "first": days[0][0] if days else "", "last": days[-1][0] if days else ""}
