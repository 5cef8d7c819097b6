"""Time the Python references on the tasks of `just bench` (crates/attnum-classical/benches).

Usage: pip install scipy nodepy && python3 bench/compare.py
Prints the median wall time of each task; compare with criterion's report for the Rust side
(`just bench`). Both must run on the same machine.
"""
import statistics
import time


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    from scipy.special import roots_legendre

    t = median_time(lambda: roots_legendre(10_000), 5)
    print(f"scipy roots_legendre(10^4): {t * 1e3:.2f} ms")

    from nodepy import runge_kutta_method as rk

    dp5 = rk.loadRKM("DP5")
    # All order-condition residuals of Dormand-Prince 5(4) for trees of orders 1..10.
    t = median_time(lambda: [dp5.order_condition_residuals(p) for p in range(1, 11)], 3)
    print(f"nodepy order_condition_residuals of DP5, orders 1..10: {t * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
