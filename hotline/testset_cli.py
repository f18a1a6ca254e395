"""`hotline asr testset`: build (or reuse) the project's own Russian speech test set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def asr_testset(
    out: Annotated[Path | None, typer.Option(help="Where the sets are cached (default "
                                                     "~/.cache/hotline/asr-testset)")] = None,
    quick: Annotated[bool, typer.Option(help="~70 items, for tests")] = False,
) -> None:
    """Build (or reuse) the Russian test set from Festival and the PBX's sound pack; prints the
    manifest's path last."""
    from base.settings import Settings
    from hotline.bench.speech_output import pack_root
    from speech import testset

    pack = pack_root(Settings())
    if pack is None:
        typer.echo("the PBX's Russian sound pack is missing (hotline pbx build): "
                   "building from Festival alone", err=True)
    try:
        manifest = testset.build(out, quick=quick, pack_dir=pack / "digits" if pack else None,
                                 progress=typer.echo)
    except testset.TestsetError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    for kind, counts in manifest.data["counts"].items():
        typer.echo(f"{kind}: {counts['dev']} dev, {counts['test']} test")
    typer.echo(f"{len(manifest.items)} items, {manifest.data['sources']['note']}, built in "
               f"{manifest.data['build_s']} s")
    typer.echo(str(manifest.path / "manifest.json"))
