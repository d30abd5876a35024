"""Helpers shared by the peer scripts of benchmarks/peers.ts: inputs, peak RSS, which BLAS is loaded."""
import json
import os
import resource
import sys


def read_matrix(np, path, n, d):
    """A raw little-endian float64 N x d file written by benchmarks/peers.ts."""
    return np.fromfile(path, dtype="<f8", count=n * d).reshape(n, d)


def max_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def loaded_blas():
    """The BLAS / LAPACK / OpenMP shared objects this process has mapped (real paths, sorted)."""
    keys = ("blas", "lapack", "gomp", "omp", "mkl")
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ".so" in parts[5]:
                    base = os.path.basename(parts[5]).lower()
                    if any(k in base for k in keys):
                        found.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return sorted(found)


def blas_env():
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO"))}


def emit(result):
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def input_args(ap, infonce=False):
    """The driver's input flags: the raw float64 U and V files and their shape (plus, for the
    InfoNCE peers, the dtype, τ and repetitions)."""
    ap.add_argument("--u", required=True)
    ap.add_argument("--v", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    if infonce:
        ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
        ap.add_argument("--tau", type=float, default=0.1)
        ap.add_argument("--reps", type=int, default=5)
    return ap
