"""Where loading the benchmark's ~1 GB CSV goes: phase timings and peak RSS of sagelocal's CSV path.

    python bench/profile_loading.py [CSV]        # default: bench/_work/big/train.csv (made by `run.py loading`)

For a call-level profile of the same path: pip install pyinstrument && python -m pyinstrument bench/profile_loading.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(path: str) -> None:
    start = time.perf_counter()
    import pyarrow.csv  # noqa: F401
    import xgboost

    from sagelocal.algorithms.xgboost import data
    from sagelocal.algorithms.xgboost.logs import Log

    marks = [("imports (xgboost pulls in scikit-learn, SciPy, pandas)", time.perf_counter(), rss_mb())]
    files = [path]
    delimiter = data.sniff_delimiter(data._first_line(path), Log(stream=open("/dev/null", "w")))
    blocks = data._parallel(lambda f: data._read_csv_file(f, delimiter), files)
    marks.append(("pyarrow.csv.read_csv + fill one float32 matrix", time.perf_counter(), rss_mb()))
    loaded = data.load_csv(files, delimiter, False) if len(blocks) != 1 else None
    matrix = blocks[0]
    features, labels = matrix[:, 1:], matrix[:, 0]
    dmatrix = xgboost.DMatrix(features, label=labels, missing=float("nan"))
    marks.append(("xgboost.DMatrix from the matrix (its own CSR copy)", time.perf_counter(), rss_mb()))
    del loaded
    previous = start
    print(f"{dmatrix.num_row()} x {dmatrix.num_col()} from {Path(path).stat().st_size / 1e9:.2f} GB")
    for label, moment, rss in marks:
        print(f"{moment - previous:7.2f} s  peak RSS {rss:7.0f} MiB  {label}")
        previous = moment
    print(f"{time.perf_counter() - start:7.2f} s  total")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).parent / "_work" / "big" / "train.csv"))
