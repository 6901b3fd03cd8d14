"""Peak memory and time of one threshold-conv training step: chunked TConv2d vs naive broadcast.

Usage: python benchmarks/bench_tconv.py [--batch 8] [--channels 16,32] [--size 32]

Each variant runs in its own subprocess, so its peak resident set size (``ru_maxrss``) is its own;
the figure reported is that peak minus the resident size measured in the same subprocess after
torch is imported and the inputs are allocated (tracemalloc cannot see torch's allocator). A step
is forward + backward of a 3x3, stride-1, padding-1 convolution; time is the median of the repeats
after one warm-up step, with one torch thread.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_variant(variant: str, batch: int, c_in: int, c_out: int, size: int, repeats: int):
    import torch

    from tn_hw.reference.tnet import TConv2d, naive_tconv2d

    torch.set_num_threads(1)
    torch.manual_seed(0)
    conv = TConv2d(c_in, c_out, 3, padding=1, seed=0)
    x = torch.rand(batch, c_in, size, size, requires_grad=True)
    base = _rss_mib()

    def step():
        if variant == "naive":
            y = naive_tconv2d(x, conv.weight, conv.polarity, conv.bias, padding=1)
        else:
            y = conv(x)
        y.square().mean().backward()
        x.grad = None
        conv.zero_grad(set_to_none=True)

    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        step()
        if i:
            times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"variant": variant, "peak_mib": peak - base, "seconds": statistics.median(times)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", default="16,32", help="C_in,C_out (default 16,32)")
    parser.add_argument("--size", type=int, default=32, help="input height = width (default 32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variant", choices=["naive", "chunked"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    c_in, c_out = (int(v) for v in args.channels.split(","))
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.batch, c_in, c_out, args.size,
                                     args.repeats)))
        return
    n = c_in * 9
    broadcast = args.batch * c_out * n * args.size * args.size
    print(f"threshold conv 3x3, batch {args.batch}, {c_in} -> {c_out} channels, "
          f"{args.size}x{args.size}, forward + backward")
    print(f"naive broadcast (B, C_out, C_in*k*k, H*W) = {broadcast:,} floats "
          f"= {broadcast * 4 / 2**20:.0f} MiB per copy")
    results = {}
    for variant in ("naive", "chunked"):
        out = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--batch", str(args.batch),
             "--channels", args.channels, "--size", str(args.size),
             "--repeats", str(args.repeats)],
            check=True, capture_output=True, text=True)
        results[variant] = json.loads(out.stdout)
        r = results[variant]
        print(f"  {variant:<8} peak +{r['peak_mib']:8.1f} MiB   {r['seconds']:7.3f} s/step")
    naive, chunked = results["naive"], results["chunked"]
    print(f"  chunked/naive: memory {chunked['peak_mib'] / naive['peak_mib']:.3f}x, "
          f"time {chunked['seconds'] / naive['seconds']:.2f}x")


if __name__ == "__main__":
    main()
