"""Reading hfscan's HDF5 attributes and string datasets for hfscan-plot:
h5py gives strings as bytes and one-element attributes as arrays."""
import numpy as np


def attr(obj, name, default=None):
    v = obj.attrs.get(name, default)
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.item()
    return v


def strings(ds):
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[...]]
