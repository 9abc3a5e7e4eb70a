"""Constant sparse matrices in training: CSR conversion, fixed-matrix products, bf16 autocast.

Every method multiplies trainable blocks by matrices that never change during a fit: the
propagation matrix S (normalised adjacency or PPR diffusion) and, for bag-of-words data,
the sparse features X. :class:`FixedMatrix` keeps such a matrix with its transpose and
runs ``M @ B`` with a hand-written backward (torch's transposes S on every call). On CPU
the products run as weighted ``embedding_bag`` calls (FBGEMM), :func:`bag_matmul`.

Floor of one product ``S @ B`` with S of nnz entries and B (N, d) float32: 2 nnz d FLOPs and
at least 4 (nnz d + N d) bytes moved when B's rows do not stay in cache (each stored entry
reads one row of B); on Cora's top-64 PPR (153k entries) times d = 512 that is 157 MFLOP.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

__all__ = ["to_torch", "FixedMatrix", "BatchPropagation", "bag_matmul", "csr_bags", "bf16_autocast"]


def to_torch(m: Any, device: torch.device, *, sparse_if_below: float = 0.3) -> torch.Tensor:
    """SciPy/NumPy (N, M) -> torch; sparse CSR when density < ``sparse_if_below``."""
    if sp.issparse(m):
        m = sp.csr_matrix(m, dtype=np.float32)
        density = m.nnz / max(1, m.shape[0] * m.shape[1])
        if density < sparse_if_below:
            with warnings.catch_warnings():  # "beta state" / invariant-check notices
                warnings.simplefilter("ignore", UserWarning)
                return torch.sparse_csr_tensor(
                    torch.from_numpy(m.indptr.astype(np.int64)),
                    torch.from_numpy(m.indices.astype(np.int64)),
                    torch.from_numpy(m.data),
                    size=m.shape,
                ).to(device)
        m = m.toarray()
    return torch.as_tensor(np.ascontiguousarray(m, dtype=np.float32), device=device)


def _addmm(bias: torch.Tensor | None, m: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``bias + M @ B``, or ``M @ B`` when bias is None; M dense or sparse CSR."""
    return m @ b if bias is None else torch.addmm(bias, m, b)


Bags = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def csr_bags(m: torch.Tensor) -> Bags:
    """A sparse CSR matrix as ``embedding_bag``'s (indices, offsets, per-sample weights)."""
    return m.col_indices(), m.crow_indices()[:-1], m.values()


def bag_matmul(bags: Bags, b: torch.Tensor) -> torch.Tensor:
    """``M @ B`` for a CSR matrix M given as :func:`csr_bags`: row i of the result is the
    sum over row i's stored entries (j, m_ij) of m_ij B[j], which is exactly a weighted
    ``embedding_bag`` with "bags" = rows of M and "embeddings" = rows of B.

    Why: on CPU torch's ``embedding_bag`` runs FBGEMM's kernel, which on Cora's top-64
    PPR matrix (153k entries) times a (2708, 512) block took 1.45 ms against 2.85 ms for
    torch's sparse CSR product (2 Zen 5 cores, float32; 3.1 against 13.7 ms at width
    1024, 0.39 against 0.90 ms for Cora's X W). Each row is summed in order, so the
    result is deterministic; it differs from the CSR product only in rounding.
    """
    indices, offsets, values = bags
    return nn.functional.embedding_bag(indices, b.contiguous(), offsets, mode="sum",
                                       per_sample_weights=values.to(b.dtype))


class _SparseMatmul(torch.autograd.Function):
    """bias + S @ B (+ U (V B)) for a constant sparse CSR ``S``; the backward uses a
    precomputed CSR ``S^T``. ``s`` and ``s_t`` are CSR tensors, or on CPU their
    :func:`csr_bags` (see :func:`bag_matmul`).

    torch's own backward for a CSR product transposes S on every call (a sort and a
    scatter) and came out ~2x slower than the forward on Cora; S never changes here. The
    optional bias (a row vector, or None) rides in the same ``addmm`` call, which saves
    a separate zero-fill and addition pass over the (N, hidden) output. The optional
    low-rank part (U, V) is added in place into the same output, and its gradient
    ``V^T (U^T G)`` into the same gradient buffer, which saves a buffer and an addition
    pass each way against leaving it to autograd.
    """

    @staticmethod
    def forward(
        ctx: Any, b: torch.Tensor, bias: torch.Tensor | None, s: torch.Tensor | Bags,
        s_t: torch.Tensor | Bags, u: torch.Tensor | None, v: torch.Tensor | None,
    ) -> torch.Tensor:
        ctx.s_t, ctx.u, ctx.v = s_t, u, v
        ctx.has_bias = bias is not None
        out = _sparse_addmm(bias, s, b)
        if u is not None and v is not None:
            out.addmm_(u, v @ b)
        return out

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, None, None, None, None]:
        grad = grad.contiguous()
        grad_bias = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[1] else None
        grad_b = _sparse_addmm(None, ctx.s_t, grad)
        if ctx.u is not None:
            grad_b.addmm_(ctx.v.T, ctx.u.T @ grad)
        return grad_b, grad_bias, None, None, None, None


def _sparse_addmm(bias: torch.Tensor | None, s: torch.Tensor | Bags, b: torch.Tensor
                  ) -> torch.Tensor:
    """``bias + S @ B`` with S a CSR tensor or its :func:`csr_bags`."""
    if isinstance(s, torch.Tensor):
        return _addmm(bias, s, b)
    out = bag_matmul(s, b)
    return out if bias is None else out.add_(bias)


class FixedMatrix:
    """A constant matrix M (dense or sparse CSR): the propagation S or the features X.

    ``M @ B`` carries gradients to B only; for sparse M the transpose used by the backward
    pass is built once here instead of on every step.
    """

    def __init__(
        self, s: torch.Tensor, low_rank: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> None:
        self.s = s
        #: optional factors (U (N, r), V (r, M)): the matrix is then M = s + U V, and
        #: ``M @ B = s @ B + U (V B)`` (top-k PPR plus its low-rank residual)
        self.low_rank = low_rank
        self.sparse = s.layout == torch.sparse_csr
        if self.sparse:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.s_t = s.to_sparse_coo().t().coalesce().to_sparse_csr()
        else:
            self.s_t = s.T
        # the operands of the products: on CPU the CSR matrices as embedding bags (FBGEMM's
        # kernel, see bag_matmul); elsewhere torch's CSR product (cuSPARSE on CUDA)
        self._fwd: torch.Tensor | Bags = self.s
        self._bwd: torch.Tensor | Bags = self.s_t
        if self.sparse and s.device.type == "cpu":
            self._fwd, self._bwd = csr_bags(self.s), csr_bags(self.s_t)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.s.shape[0]), int(self.s.shape[1]))

    @property
    def device(self) -> torch.device:
        return self.s.device

    def __matmul__(self, b: torch.Tensor) -> torch.Tensor:
        return self.addmm(None, b)

    def addmm(self, bias: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
        """``bias + M @ B`` (bias a row vector broadcast over rows, or None for ``M @ B``)."""
        u, v = self.low_rank if self.low_rank is not None else (None, None)
        if self.sparse:
            if torch.is_autocast_enabled(b.device.type):
                # torch has no bfloat16 sparse CSR product: under bf16_autocast the sparse
                # products run in float32 (cheap; the dense weight products are what it speeds up)
                with torch.autocast(b.device.type, enabled=False):
                    return self.addmm(None if bias is None else bias.float(), b.to(self.s.dtype))
            needs_grad = b.requires_grad or (bias is not None and bias.requires_grad)
            if torch.is_grad_enabled() and needs_grad:
                out: torch.Tensor = _SparseMatmul.apply(b, bias, self._fwd, self._bwd, u, v)
                return out
            res = _sparse_addmm(bias, self._fwd, b)
        else:
            res = _addmm(bias, self.s, b)
        if u is not None and v is not None:
            res = torch.addmm(res, u, v @ b)
        return res


def bf16_autocast(device: torch.device, enabled: bool) -> Any:
    """``torch.autocast`` to bfloat16 on ``device`` when ``enabled``, else a no-op context.

    Hand-written here only to pair with :class:`FixedMatrix`, whose sparse products stay
    float32. Dense weight products then run in bfloat16 (weights and optimiser state stay
    float32). That pays on GPUs and on CPUs with native bfloat16 (AVX512-BF16, AMX); on an
    AVX2-only CPU it is slower than float32. Cast outputs with ``.float()`` before losses.
    """
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


class BatchPropagation:
    """(S X W)_B and the corrupted (S X[perm] W)_B for node batches B: the linear part of a
    one-layer encoder act(S X W + b) trained in mini-batches (DGI and GMIM with
    ``batch_size``), with gradients to W.

    The corruption (DGI's row shuffle, X -> X[perm]) is one permutation per epoch, as in
    the full-batch fit where an epoch is one step: (S X[perm])_i = sum_j S_ij x_perm(j), so a
    batch remaps its stored columns j -> perm(j). A low-rank part S = S_k + U V adds
    U_B (V X) W, with V X fixed, and U_B (V X[perm]) W, with V X[perm] = V[:, perm^-1] X
    formed once per epoch (r nnz(X) multiply-adds).

    Two ways to the same product, chosen by their multiply-adds per epoch (times hidden):

    * ``"rows"``: (S X)_B W, the batch's dense rows of S X (B x F) times W. S X is fixed and
      formed once; S X[perm] once an epoch (:meth:`set_corruption`), one product of S with
      an N x F block (``embedding_bag`` on CPU, all cores); a batch then only gathers its
      rows, and its backward is dense (no sparse product). Per epoch ~ N F hidden
      multiply-adds and one sparse product F wide, where the full-batch fit makes four
      hidden wide: for dense, narrow features (a 1M-node graph with 128 features) the
      cheaper epoch, full batch or not;
    * ``"project"``: S_B (X W), X W formed each step (nnz(X)) and the batch's rows of S
      (and of S with remapped columns) applied to it. Per epoch ~ (N / B) nnz(X) + nnz(S):
      cheap for wide, sparse bag-of-words features, whose rows of S X are long (Cora:
      1,433 words, 18 per paper, 64 PPR entries a row). Where W stays the same over an
      epoch's batches (one optimiser step an epoch: ``shared=True``, ``products(...,
      defer=True)`` on all but the epoch's last batch), X W is formed once for them and
      their gradients to it are summed, so that X^T G runs once, at the last batch: per
      epoch ~ 3 nnz(X) + nnz(S), as the full batch, instead of (N / B) 2 nnz(X) (Coauthor
      CS, 18,333 nodes x 6,805 words, batches of 512: a pre-training epoch 3.4 s -> 1.3 s,
      the full batch's 0.8 s).

    ``mode="auto"`` takes the smaller estimate. Memory: two N x F blocks (S X and S X[perm])
    and a batch's B x F rows, or one N x hidden X W, instead of the full-batch fit's ~9
    N x hidden activations.

    Parameters
    ----------
    s : scipy sparse (N, N)
        The propagation matrix (its top-k part when ``low_rank`` is given).
    x : scipy sparse or ndarray (N, F)
        The encoder's input features.
    low_rank : (U (N, r), V (r, N)) or None
    device : torch.device
    batch_size : int
        For the cost estimate of ``mode="auto"``.
    mode : {"auto", "rows", "project"}
    shared : bool, default False
        The caller takes one optimiser step an epoch (W fixed over the epoch's batches):
        the cost estimate of ``mode="auto"`` counts X W once an epoch.
    """

    def __init__(self, s: Any, x: Any, low_rank: tuple[np.ndarray, np.ndarray] | None,
                 device: torch.device, batch_size: int, mode: str = "auto",
                 shared: bool = False) -> None:
        self.s = sp.csr_matrix(s, dtype=np.float32)
        self.x_host = sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(
            x, dtype=np.float32)
        self.device = device
        n, f = self.x_host.shape
        nnz_x = int(self.x_host.nnz) if sp.issparse(self.x_host) else n * f  # type: ignore[union-attr]
        if mode == "auto":
            rows_cost = float(n) * f
            passes = 3 if shared else 2 * math.ceil(n / batch_size)  # X W and X^T G
            project_cost = passes * float(nnz_x) + self.s.nnz
            mode = "rows" if rows_cost <= project_cost else "project"
        if mode not in ("rows", "project"):
            raise ValueError(f"mode must be 'auto', 'rows' or 'project' but got {mode!r}.")
        self.mode = mode
        self.x = FixedMatrix(to_torch(self.x_host, device)) if mode == "project" else None
        self.perm: np.ndarray | None = None
        self.u: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.vx: torch.Tensor | None = None
        self.vx_perm: torch.Tensor | None = None
        if low_rank is not None:
            self.u = np.asarray(low_rank[0], dtype=np.float32)
            self.v = np.asarray(low_rank[1], dtype=np.float32)
            self.vx = self._to_device(self._times_x(self.v))  # (r, F)
        self.sx: torch.Tensor | None = None  # "rows": S X (N, F), the low-rank part included
        self.sx_perm: torch.Tensor | None = None  # "rows": S X[perm] (N, F), this epoch's
        # "rows" on CPU, kept across epochs: S's rows as embedding bags (int64 indices), U,
        # and the buffer X[perm] is gathered into. Formed afresh each epoch these were
        # ~1.7 GB of new pages an epoch at 10^6 nodes (128 features, top-32 S), which the
        # kernel faulted in and zeroed: 3.5 s of a 7.1 s epoch with glibc's mmap threshold
        # at 32 MiB (benchmarks/scaling_epoch.py).
        self._bags: Bags | None = None
        self._u: torch.Tensor | None = None
        self._x_perm: torch.Tensor | None = None
        # "project": X W of one value of W, shared by the batches that read it (see
        # _projection): (that W, X W without a graph, the leaf the deferred batches read,
        # whose .grad sums their gradients)
        self._xw: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None
        if mode == "rows":
            self.sx = self._s_times(self.x_host, self.vx)

    @property
    def shape(self) -> tuple[int, int]:
        """(N, F)."""
        return (int(self.s.shape[0]), int(self.x_host.shape[1]))

    def _times_x(self, m: Any) -> np.ndarray:
        """``m @ X`` as a dense float32 array."""
        out = m @ self.x_host
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float32)

    def _to_device(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def set_corruption(self, perm: np.ndarray) -> None:
        """The epoch's permutation of the nodes (X -> X[perm])."""
        self.perm = np.asarray(perm, dtype=np.int64)
        if self.v is not None:
            self.vx_perm = self._to_device(self._times_x(self.v[:, np.argsort(self.perm)]))
        if self.mode == "rows":
            self.sx_perm = None  # free the last epoch's before forming this one's
            x_perm: Any
            if isinstance(self.x_host, np.ndarray):
                x = torch.from_numpy(self.x_host)
                if self._x_perm is None:
                    self._x_perm = torch.empty_like(x)
                x_perm = torch.index_select(x, 0, torch.from_numpy(self.perm), out=self._x_perm)
            else:
                x_perm = self.x_host[self.perm]
            self.sx_perm = self._s_times(x_perm, self.vx_perm)

    def _s_times(self, x: Any, vx: torch.Tensor | None) -> torch.Tensor:
        """(S_k X + U (V X)) as a dense (N, F) tensor on the device, for ``x`` = X or X[perm]
        and ``vx`` its V X (None without a low-rank part). Dense X on CPU: one weighted
        ``embedding_bag`` over S's rows (:func:`bag_matmul`, FBGEMM, every core); otherwise
        SciPy's product."""
        if not sp.issparse(x) and self.device.type == "cpu":
            if self._bags is None:
                s = self.s
                self._bags = (torch.from_numpy(s.indices.astype(np.int64)),
                              torch.from_numpy(s.indptr[:-1].astype(np.int64)),
                              torch.from_numpy(s.data))
            xt = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
            out = bag_matmul(self._bags, xt)
        else:
            out = self._to_device(self._times_x_of(x.numpy() if isinstance(x, torch.Tensor) else x))
        if vx is not None:
            assert self.u is not None
            if self._u is None:
                self._u = self._to_device(self.u)
            out.addmm_(self._u, vx)
        return out

    def _times_x_of(self, x: Any) -> np.ndarray:
        """``S @ x`` as a dense float32 array (x dense or sparse)."""
        out = self.s @ x
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float32)

    def _batch_rows(self, idx: np.ndarray, corrupted: bool) -> sp.csr_matrix:
        sb = self.s[idx]
        if corrupted:
            if self.perm is None:
                raise RuntimeError("set_corruption(perm) must be called before corrupted rows")
            sb = sp.csr_matrix((sb.data, self.perm[sb.indices], sb.indptr), shape=sb.shape)
        return sb

    def _low_rank(self, idx: np.ndarray, corrupted: bool, weight: torch.Tensor
                  ) -> torch.Tensor | None:
        """U_B ((V X) W) or U_B ((V X[perm]) W), (B, hidden), or None without a low-rank
        part: r (F + B) hidden multiply-adds, against B F hidden for (U_B V X) W."""
        if self.u is None:
            return None
        vx = self.vx_perm if corrupted else self.vx
        assert vx is not None
        return self._to_device(self.u[idx]) @ (vx @ weight)

    def _projection(self, weight: torch.Tensor, defer: bool) -> torch.Tensor:
        """X W for a batch's products ("project" mode), formed once per value of W.

        Without autograd: the stored X W of this W. With ``defer``: a leaf holding it, into
        whose ``.grad`` autograd sums the batches' gradients (W gets none from them). Else
        X W with its graph to W, its gradient plus that sum when deferred batches of the
        same W came before: the last batch of an epoch hands W the gradient of all of them,
        inside its own backward pass (where DistributedDataParallel all-reduces it).
        A W whose values changed (an optimiser step) forms X W anew and drops any sum left
        over. The check compares W with the copy taken when X W was formed (F x hidden, once
        a batch): an in-place step does not always tell, fused Adam's leaves the tensor's
        version counter as it was."""
        assert self.x is not None
        current = self._xw is not None and torch.equal(self._xw[0], weight.detach())
        if torch.is_grad_enabled() and weight.requires_grad and not defer:
            # the sum of the deferred batches (if any) is handed on here; the next use
            # forms X W anew (one step a batch: no X W without graph formed in vain)
            leaf = self._xw[2] if current and self._xw is not None else None
            self._xw = None
            xw = self.x @ weight
            if leaf is not None and leaf.grad is not None:
                xw = _PlusGradient.apply(xw, leaf.grad)
            return xw
        if not current or self._xw is None:
            with torch.no_grad():
                self._xw = (weight.detach().clone(), self.x @ weight, None)
        key, value, leaf = self._xw
        if not (torch.is_grad_enabled() and weight.requires_grad):
            return value
        if leaf is None:
            leaf = value.detach().requires_grad_(True)
            self._xw = (key, value, leaf)
        return leaf

    def products(self, idx: np.ndarray, weight: torch.Tensor, *, corrupted: bool = True,
                 defer: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """((S X W)[idx], (S X[perm] W)[idx] or None), each (B, hidden). ``defer``: W is
        the same for the next batch and its gradient may wait for a batch without
        ``defer`` (see :meth:`_projection`; "project" mode, else ignored)."""
        which = (False, True) if corrupted else (False,)
        if self.mode == "rows":
            if corrupted and self.sx_perm is None:
                raise RuntimeError("set_corruption(perm) must be called before corrupted rows")
            at = torch.from_numpy(np.asarray(idx, dtype=np.int64)).to(self.device)
            blocks = [self.sx_perm if c else self.sx for c in which]
            rows = torch.cat([b.index_select(0, at) for b in blocks if b is not None])
            z = rows @ weight  # one GEMM for the clean and the corrupted rows
            return z[:len(idx)], (z[len(idx):] if corrupted else None)
        xw = self._projection(weight, defer)  # (N, hidden): the clean and the corrupted rows
        # the clean and the corrupted rows of S as one (2B, N) product: one (N, hidden)
        # gradient block a batch instead of two and their sum
        both = _rows_times(sp.vstack([self._batch_rows(idx, c) for c in which], format="csr"),
                           xw, self.device)
        parts = list(both.split(len(idx)))
        for i, c in enumerate(which):
            extra = self._low_rank(idx, c, weight)
            if extra is not None:
                parts[i] = parts[i] + extra
        return parts[0], (parts[1] if corrupted else None)


class _PlusGradient(torch.autograd.Function):
    """The identity on X W whose backward adds ``extra`` (the summed gradient of the
    deferred batches, :meth:`BatchPropagation._projection`) to the incoming gradient."""

    @staticmethod
    def forward(ctx: Any, xw: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        ctx.extra = extra
        return xw.view_as(xw)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad + ctx.extra, None


def _rows_times(m: sp.csr_matrix, b: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``M @ B`` for a batch's CSR rows M (B, N) of a constant matrix, with the gradient to B
    (through M^T, built here once per call; :class:`_SparseMatmul`)."""
    mt = sp.csr_matrix(m.T)
    if device.type == "cpu":
        def bags(a: sp.csr_matrix) -> Bags:
            return (torch.from_numpy(a.indices.astype(np.int64)),
                    torch.from_numpy(a.indptr[:-1].astype(np.int64)),
                    torch.from_numpy(np.asarray(a.data, dtype=np.float32)))
        fwd: torch.Tensor | Bags = bags(m)
        bwd: torch.Tensor | Bags = bags(mt)
    else:
        fwd, bwd = to_torch(m, device, sparse_if_below=1.1), to_torch(mt, device, sparse_if_below=1.1)
    out: torch.Tensor = _SparseMatmul.apply(b, None, fwd, bwd, None, None)
    return out
