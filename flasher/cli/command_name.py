"""Which command a command line names, read without building a parser (start-up time)."""


def named_command(argv: list[str]) -> str | None:
    """The command a command line names, seen past the global options; None if unsure."""
    words = iter(argv)
    for word in words:
        if word == "-s":
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif word in ("--version", "-h", "--help"):
            return ""  # the version, or the list of commands: no command's arguments are needed
        elif word not in ("--json", "-v", "--verbose"):
            return None
    return None
