"""mvd: mind vs data."""

import os

__version__ = "0.1.0"

# torch's elementwise CPU kernels round differently at each SIMD level (AVX2, AVX-512), and a net's early stopping
# can turn a last-bit difference into another epoch (0.2 points of accuracy on a committed MLP point). Pinned to the
# portable kernels, a seed gives the same point on every x86 host, about 8% slower on the MLP. It must be set before
# torch is imported (mvd imports torch only for its nets); a value the user set wins.
os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
