"""Plain-text tables whose columns are as wide as their longest cell: nothing is cut."""


def format_table(headings: tuple[str, ...], rows: list[tuple[str, ...]], *, right: frozenset[int] = frozenset()) -> str:
    """`rows` hold printable text (the caller escapes what a device said); columns in `right` align right."""
    every = [headings, *rows]
    widths = [max(len(row[column]) for row in every) for column in range(len(headings))]

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(width) if column in right else cell.ljust(width)
                 for column, (cell, width) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()
    return "\n".join(line(row) for row in every)
