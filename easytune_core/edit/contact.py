"""Foot locking: keep planted feet still while the root follows an imposed path.

When the root's trajectory is imposed (path control, root-path edits), the model's legs do not
always step in time with it, and planted feet slide. This guide corrects the x0 estimate of the
later denoising steps, without gradients through the network:

1. the estimate's own foot-contact channels say when each foot joint (ankles, toes) is planted:
   a run of frames whose contact is > 0.5, plus the frame the last step lands on;
2. over each run the joint is held at the run's mean ground position (x, z; height untouched),
   written back into its root-relative channels in the facing frame of each frame;
3. the knees move so that the thigh and shin keep their canonical lengths (a few gradient steps
   on the bone lengths, knees only; this problem is small and well conditioned).

Only channels the edit leaves free change, so an imposed path stays exact. The model denoises
from the corrected estimate, which brings the legs' rotations and velocities along; the final
step's estimate is corrected too, so the output's feet are locked where its contacts say so.
"""

from __future__ import annotations

import torch

from ..motion.features import features_to_joints, recover_root
from ..motion.rotations import qrot
from ..motion.skeleton import HUMANML3D_BONE_LENGTHS

FOOT_JOINTS = (7, 10, 8, 11)  # the order of HumanML3D's four contact channels
KNEES = {4: (1, 7), 5: (2, 8)}  # knee: (hip, ankle)
RIC0 = 4


def _ric(j: int) -> slice:
    return slice(RIC0 + 3 * (j - 1), RIC0 + 3 * j)


def lock_feet(raw: torch.Tensor, free: torch.Tensor, knee_iters: int = 15, lr: float = 0.3) -> torch.Tensor:
    """Raw features (B, T, D) with planted feet held still (see the module docstring).

    free: (B, T, D) 1 where a channel may change. Returns a new tensor."""
    out = raw.clone()
    j = features_to_joints(raw)  # (B, T, 22, 3)
    r_rot, r_pos = recover_root(raw)
    B, T = raw.shape[:2]
    contact = raw[:, :, -4:] > 0.5  # (B, T, 4); frame t: the step t -> t+1 is still
    for b in range(B):
        for k, joint in enumerate(FOOT_JOINTS):
            c = contact[b, :-1, k].tolist()
            t = 0
            while t < T - 1:
                if not c[t]:
                    t += 1
                    continue
                s = t
                while t < T - 1 and c[t]:
                    t += 1
                frames = slice(s, t + 1)  # the run's steps s..t-1 touch frames s..t
                target = j[b, frames, joint, :].mean(0)
                j[b, frames, joint, 0] = target[0]
                j[b, frames, joint, 2] = target[2]
    # back into root-relative channels: ric = r_rot (world - root_xz)
    root_xz = r_pos * torch.tensor([1.0, 0.0, 1.0], dtype=raw.dtype, device=raw.device)
    for joint in FOOT_JOINTS:
        ric = qrot(r_rot, j[:, :, joint] - root_xz)
        out[:, :, _ric(joint)] = torch.where(free[:, :, _ric(joint)] > 0, ric, raw[:, :, _ric(joint)])
    # knees: keep thigh and shin lengths with hips and ankles where they are
    knee_ch = torch.zeros(raw.shape[-1], dtype=torch.bool, device=raw.device)
    for knee in KNEES:
        knee_ch[_ric(knee)] = True
    step_mask = free * knee_ch
    with torch.enable_grad():
        x = out.detach()
        for _ in range(knee_iters):
            x = x.detach().requires_grad_(True)
            jj = features_to_joints(x)
            loss = 0.0
            for knee, (hip, ankle) in KNEES.items():
                loss = loss + ((jj[:, :, knee] - jj[:, :, hip]).norm(dim=-1) - float(HUMANML3D_BONE_LENGTHS[knee])).pow(2).sum()
                loss = loss + ((jj[:, :, ankle] - jj[:, :, knee]).norm(dim=-1) - float(HUMANML3D_BONE_LENGTHS[ankle])).pow(2).sum()
            (grad,) = torch.autograd.grad(loss, x)
            x = x - lr * grad * step_mask
    return x.detach()


class FootContactGuide:
    """:class:`~easytune_core.diffusion.sampler.Guide` locking planted feet in the x0 estimate.

    Args:
        mean, std: (D,) feature statistics (the estimate is normalised).
        free: (B, T, D) 1 where the edit leaves a channel free (1 - its weight).
        steps: the sampler's number of steps; the guide acts from step ``start * steps`` on.
    """

    def __init__(self, mean, std, free: torch.Tensor, steps: int, start: float = 0.5):
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)
        self.free = free.float()
        self.first = int(start * steps)

    def to(self, device) -> "FootContactGuide":
        self.mean, self.std, self.free = self.mean.to(device), self.std.to(device), self.free.to(device)
        return self

    def x0(self, i: int, x_t: torch.Tensor, x0_pred: torch.Tensor) -> torch.Tensor:
        if i < self.first:
            return x0_pred
        with torch.inference_mode(False):  # callers may sample in inference mode; the knee fit needs grads
            raw = x0_pred.detach().float().clone() * self.std + self.mean
            raw = lock_feet(raw, self.free.clone())
            return ((raw - self.mean) / self.std).to(x0_pred.dtype)

    def x_next(self, i: int, x_next: torch.Tensor, abar_next: float) -> torch.Tensor:
        return x_next
