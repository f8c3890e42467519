"""The Python binding's per-call overhead: a 256-frame stereo float32 ``Pipeline.process`` against
a bare ctypes call of the same C function with prepared pointers, in interleaved rounds of
20 000 calls (9 rounds; best and median per call). Target (issue 18): at most 1.5 µs.

    pip install ./bindings/python && python3 benches/python_overhead.py
"""
import time, numpy as np, tonecore, ctypes
from tonecore import _native
p = tonecore.Pipeline(44100, 2, None, max_block=256)
x = np.random.default_rng(0).uniform(-0.5,0.5,(2,256)).astype(np.float32)
out = np.empty_like(x)
fn = _native.lib.tonecore_pipeline_process_f32
ptr = p._handle._ptr
xp = ctypes.cast(x.ctypes.data, ctypes.POINTER(ctypes.c_float)); op = ctypes.cast(out.ctypes.data, ctypes.POINTER(ctypes.c_float))
def per_call(f, n=20000):
    t = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter()-t)/n*1e6
a=[];c=[]
for _ in range(9):  # interleaved rounds
    a.append(per_call(lambda: p.process(x, out)))
    c.append(per_call(lambda: fn(ptr, xp, 512, op, 512)))
import statistics as st
print(f"Pipeline.process best {min(a):.2f} median {st.median(a):.2f} us; bare ctypes best {min(c):.2f} median {st.median(c):.2f} us; overhead best {min(a)-min(c):.2f} median {st.median(a)-st.median(c):.2f} us")
