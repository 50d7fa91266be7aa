"""Generate the Python protobuf/gRPC code (and .pyi stubs) from protos/ into one place.

Output: services/common/src/pulse/<area>/v1/*_pb2.py(i), *_pb2_grpc.py(i); imports as
``pulse.<area>.v1``. ``--check`` regenerates into a temporary folder and fails when the
committed output differs (stale), so CI catches a proto edited without regeneration.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUTPUT_ROOT = ROOT / "services" / "common" / "src"
PACKAGE = "pulse"


def generate(out_dir: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    if not protos:
        raise SystemExit("no .proto files under protos/")
    bin_dir = Path(sys.executable).parent
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    subprocess.run(command, check=True)
    # Regular packages (not namespace packages) so mypy and setuptools see one tree.
    for folder in [out_dir / PACKAGE, *(p for p in (out_dir / PACKAGE).rglob("*") if p.is_dir())]:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")
    (out_dir / PACKAGE / "py.typed").write_text("")


def tree_differs(left: Path, right: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on either side or changed)."""
    left_files = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    right_files = {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    left_files = {p for p in left_files if "__pycache__" not in p.parts}
    right_files = {p for p in right_files if "__pycache__" not in p.parts}
    changed = [
        str(p)
        for p in sorted(left_files & right_files)
        if not filecmp.cmp(left / p, right / p, shallow=False)
    ]
    return sorted({str(p) for p in left_files ^ right_files} | set(changed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    args = parser.parse_args()
    target = OUTPUT_ROOT / PACKAGE
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / PACKAGE
        if args.check:
            stale = tree_differs(fresh, target) if target.exists() else ["(missing)"]
            if stale:
                print("generated code is stale; run `make protos`:", *stale, sep="\n  ")
                return 1
            print("generated code is up to date")
            return 0
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)
    print(f"generated {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
