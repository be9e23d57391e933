"""A software prefetch for numba kernels that gather rows at data-dependent addresses.

Copying SNG-table rows picked by thresholds is a chain of cache misses the hardware
prefetchers cannot predict (the rows are spread over a table of 100+ MB); asking for the
row a few elements ahead keeps several misses in flight. Measured on the LeNet-5 layers: the
gather ran 2-4x faster with a distance of 6-12 rows (benchmarks/emulate.py shows the effect
on the whole network).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["prefetch"]


@intrinsic
def prefetch(typingctx, arr, index):
    """prefetch(arr, i): hint that the cache line holding arr.ravel()[i] (a C-contiguous
    array) is read soon; no effect on results, no fault on any address."""
    if not isinstance(arr, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.void(arr, index)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p],
                                              ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        # read (0), high temporal locality (3), data cache (1)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
