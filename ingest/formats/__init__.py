"""One module per source format. Each module exposes:

    NAME: str                         the --format name, e.g. "ofac_sdn_csv"
    EXTENSIONS: tuple[str, ...]       file extensions it usually comes with, e.g. (".csv",)
    def sniff(path, head: bytes) -> bool
        True when the first bytes of the file look like this format (cheap, no full parse).
    def resolve(path: str | Path, fmt: str | None = None) -> ModuleType:
    """The module for `fmt` if given, else the detected one; FormatError when neither works."""
    path = Path(path)
    if not fmt:
        return detect(path)
    known = formats()
    if fmt not in known:
        raise FormatError(path, f"unknown format {fmt!r}; known: {', '.join(sorted(known))}")
    if not path.is_file():
        raise FormatError(path, "not a file")
    return known[fmt]


def parse_with(module: ModuleType, path: str | Path) -> list[Document]:
    """All documents of one file, or FormatError: a file is read whole before anything is stored."""
    path = Path(path)
    try:
        docs = list(module.parse(path))
    except FormatError:
        raise
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not valid UTF-8 text ({e.reason} at byte {e.start})") from e
    except Exception as e:  # a parser bug must not take down a batch; report it against the file
        raise FormatError(path, f"could not be parsed as {module.NAME}: {type(e).__name__}: {e}") from e
    if not docs:
        raise FormatError(path, f"no documents found (read as {module.NAME})")
    return docs


def parse(path: str | Path, fmt: str | None = None) -> list[Document]:
    """Documents from one file; `fmt` forces a format by name."""
    return parse_with(resolve(path, fmt), path)
