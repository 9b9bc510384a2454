"""A handset's battery in percent, estimated from the millivolts it reports. No Qt here."""

# Resting voltage of a one-cell lithium battery against its charge: (millivolts, percent).
_CHARGE_CURVE = ((3300, 0), (3600, 5), (3700, 12), (3750, 20), (3790, 30), (3830, 40), (3870, 50), (3920, 60),
                 (3980, 70), (4060, 80), (4110, 90), (4200, 100))


def battery_percent(millivolts: int) -> int:
    """An estimate of the charge left, for people who know batteries by percent."""
    points = _CHARGE_CURVE
    if millivolts <= points[0][0]:
        return 0
    for (low_mv, low_pc), (high_mv, high_pc) in zip(points, points[1:]):
        if millivolts <= high_mv:
            return round(low_pc + (high_pc - low_pc) * (millivolts - low_mv) / (high_mv - low_mv))
    return 100
