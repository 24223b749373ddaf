# The DiT MLP shape (6,272 x 128 -> 512 -> 128) in fp32 (OpenBLAS), oneDNN fp32 and bf16 autocast, 2 threads:
# what --precision auto chooses between. /usr/bin/python3 bench/diffusion/mlp_precision.py
import torch, time
torch.set_num_threads(2)
x = torch.randn(6272,128); l1=torch.nn.Linear(128,512); l2=torch.nn.Linear(512,128)
flops = 2*6272*(128*512*2)
def t(f, n=30):
    f(); f()
    s=time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter()-s)/n
with torch.no_grad():
    d=t(lambda: l2(torch.nn.functional.gelu(l1(x))))
    print("fp32 default %.1f GFLOP/s"%(flops/d/1e9))
    from torch.utils import mkldnn as mk
    m = mk.to_mkldnn(torch.nn.Sequential(l1, torch.nn.GELU(), l2))
    xm = x.to_mkldnn()
    d=t(lambda: m(xm))
    print("mkldnn fp32 %.1f"%(flops/d/1e9))
    d=t(lambda: m(x.to_mkldnn()).to_dense())
    print("mkldnn fp32 incl conversions %.1f"%(flops/d/1e9))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d=t(lambda: l2(torch.nn.functional.gelu(l1(x))), 5)
    print("bf16 autocast %.1f"%(flops/d/1e9))
    w = torch.randn(512,128); 
    d=t(lambda: torch.mm(x, w.t()))
    print("mm only %.1f"%(2*6272*128*512/d/1e9))
