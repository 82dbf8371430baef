"""Side-by-side H.264 mp4 of posed bodies: pyrender offscreen (EGL) or a numpy fallback.

One panel per motion, each with its own following camera, a checkered ground plane, a label,
and the prompt in a bar at the bottom. pyrender runs headless through EGL (Mesa on the CPU, the
NVIDIA driver on a GPU); the GL context is created, used and released inside one call, in one
thread, under a process-wide lock, because GL contexts are bound to the thread that made them.
Where no GL is available a pure-numpy point-splat renderer takes over (with a warning), and
``mode="stick"`` draws a stick figure without any mesh.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..motion.ik import PARENTS, validate_joints
from .body import get_body
from .glb import DEFAULT_COLORS, parse_color, prepare_motion

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
_GL_LOCK = threading.Lock()
_FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")


def _font(size: int):
    for f in _FONT_FILES:
        try:
            return ImageFont.truetype(f, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _import_pyrender():
    """Import pyrender (EGL) or raise ImportError/RuntimeError when GL is unusable.

    The ``render`` extra installs ``pyrender2``, the maintained drop-in that provides the same
    ``pyrender`` module and works with NumPy 2 and PyOpenGL 3.1.9+ (Python 3.12+). The original
    pyrender 0.1.x still uses ``np.infty`` (gone in NumPy 2), so with it GL is reported unusable
    and the numpy renderer takes over.
    """
    import pyrender  # noqa: WPS433

    if str(getattr(pyrender, "__version__", "")).startswith("0.1.") and not hasattr(np, "infty"):
        raise ImportError(f"pyrender {pyrender.__version__} does not work with NumPy {np.__version__} (it uses "
                          "np.infty); install the maintained drop-in: pip install pyrender2 'PyOpenGL>=3.1.9'")
    return pyrender


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(4, 4)`` camera-to-world pose (OpenGL: camera looks down its -Z, Y up)."""
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, [0.0, 1.0, 0.0])
    r = r / max(np.linalg.norm(r), 1e-9)
    u = np.cross(r, f)
    M = np.eye(4)
    M[:3, 0], M[:3, 1], M[:3, 2], M[:3, 3] = r, u, -f, eye
    return M


def follow_cameras(pelvis: np.ndarray, distance: float = 3.6, height: float = 1.5,
                   yaw_deg: float = 25.0, smooth: int = 15) -> np.ndarray:
    """``(T, 4, 4)`` camera poses following a smoothed pelvis track from the front-right."""
    T = pelvis.shape[0]
    xz = pelvis[:, [0, 2]].astype(np.float64)
    k = min(smooth, T)
    pad = np.concatenate([np.repeat(xz[:1], k // 2, 0), xz, np.repeat(xz[-1:], k - k // 2 - 1, 0)])
    xz = np.stack([np.convolve(pad[:, i], np.ones(k) / k, mode="valid") for i in range(2)], -1)
    yaw = np.radians(yaw_deg)
    offset = np.array([np.sin(yaw) * distance, height, np.cos(yaw) * distance])
    poses = np.empty((T, 4, 4))
    for t in range(T):
        target = np.array([xz[t, 0], 0.85, xz[t, 1]])
        poses[t] = look_at(target + offset, target)
    return poses


def project(points: np.ndarray, cam_pose: np.ndarray, yfov: float, W: int, H: int):
    """Pixel coordinates ``(N, 2)`` and depth ``(N,)`` of world points for a pinhole camera."""
    R, c = cam_pose[:3, :3], cam_pose[:3, 3]
    rel = points - c
    pc = np.stack([rel @ R[:, 0], rel @ R[:, 1], rel @ R[:, 2]], -1)  # camera coordinates
    depth = -pc[:, 2]
    fpx = 0.5 * H / np.tan(0.5 * yfov)
    z = np.maximum(depth, 1e-6)
    uv = np.stack([W / 2 + fpx * pc[:, 0] / z, H / 2 - fpx * pc[:, 1] / z], -1)
    return uv, depth


_RAY_CACHE: dict = {}


def _camera_rays(W: int, H: int, yfov: float) -> np.ndarray:
    """``(H*W, 3)`` float32 camera-space pixel ray directions (cached per size)."""
    key = (W, H, round(float(yfov), 6))
    if key not in _RAY_CACHE:
        fpx = 0.5 * H / np.tan(0.5 * yfov)
        u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
        d = np.stack([(u - W / 2) / fpx, -(v - H / 2) / fpx, -np.ones_like(u)], -1)
        _RAY_CACHE[key] = d.reshape(-1, 3).astype(np.float32)
    return _RAY_CACHE[key]


_SKY = np.array([236, 240, 245], np.float32)


def _floor_image(cam_pose, yfov, W, H, shadow=None):
    """Checkered ground plane (y = 0, 0.5 m tiles) seen from ``cam_pose``, by casting a ray per
    pixel; ``shadow`` = (x, z) darkens a soft blob there (under the pelvis)."""
    rays = _camera_rays(W, H, yfov)
    Rm = cam_pose[:3, :3].astype(np.float32)
    dy = rays @ Rm[1]  # three mat-vec products are ~10x faster than one (N,3)@(3,3)
    c = cam_pose[:3, 3].astype(np.float32)
    img = np.empty((H * W, 3), np.float32)
    img[:] = _SKY
    hit = np.flatnonzero(dy < -1e-3)  # rays going down meet the floor
    rh = rays[hit]
    t = -c[1] / dy[hit]
    x, z = c[0] + t * (rh @ Rm[0]), c[2] + t * (rh @ Rm[2])
    # light / dark tiles as one grey level, then shadow and distance fog on that scalar
    odd = (np.floor(x * 2).astype(np.int32) + np.floor(z * 2).astype(np.int32)) & 1
    g = np.float32(150.0) + np.float32(45.0) * odd.astype(np.float32)
    if shadow is not None:
        r2 = (x - shadow[0]) ** 2 + (z - shadow[1]) ** 2
        near = r2 < 1.0
        g[near] *= 1 - 0.35 * np.exp(-r2[near] / 0.06)
    fade = np.clip(1 - t / np.float32(40), 0, 1)[:, None]
    img[hit] = g[:, None] * fade + _SKY * (1 - fade)
    return img.reshape(H, W, 3).astype(np.uint8)


def _vertex_normals_t(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """``(T, V, 3)`` area-weighted vertex normals."""
    v0, v1, v2 = verts[:, faces[:, 0]], verts[:, faces[:, 1]], verts[:, faces[:, 2]]
    fn = torch.cross(v1 - v0, v2 - v0, dim=-1)
    n = torch.zeros_like(verts)
    for k in range(3):
        n.index_add_(1, faces[:, k], fn)
    return torch.nn.functional.normalize(n, dim=-1)


class _SplatRenderer:
    """Pure-numpy fallback: z-buffered vertex splats with Lambert shading."""

    def __init__(self, W, H, yfov):
        self.W, self.H, self.yfov = W, H, yfov

    def render(self, verts, normals, color, cam_pose, background):
        img = background.astype(np.float32)
        uv, depth = project(verts, cam_pose, self.yfov, self.W, self.H)
        light = np.array([0.3, 0.8, 0.5]) / np.linalg.norm([0.3, 0.8, 0.5])
        shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)
        rgb = np.asarray(color)[None] * 255 * shade[:, None]
        # Cull vertices facing away: splats leave gaps through which the back would show.
        front = np.sum(normals * (cam_pose[:3, 3] - verts), -1) > 0
        uv, depth, rgb = uv[front], depth[front], rgb[front]
        order = np.argsort(-depth)  # far first: later (nearer) writes win
        xy = np.round(uv[order]).astype(int)
        ok = (depth[order] > 0.05) & (xy[:, 0] >= 0) & (xy[:, 0] < self.W - 1) & (xy[:, 1] >= 0) & (xy[:, 1] < self.H - 1)
        xy, col = xy[ok], rgb[order][ok]
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            img[xy[:, 1] + dy, xy[:, 0] + dx] = col
        return img.astype(np.uint8)


class _GLRenderer:
    """pyrender scene with lights and one swappable body mesh, drawn over a numpy floor.

    Only the body goes through GL (transparent background): the software rasteriser's cost is
    in shading fragments, and the floor covers most of the frame.
    """

    def __init__(self, W, H, yfov, faces, antialias: bool = False):
        pr = _import_pyrender()
        self.pr = pr
        self._restore = None
        if not antialias:
            # pyrender hard-codes 4x multisampling; on Mesa's CPU rasteriser that costs ~40 % of
            # the frame. The framebuffer is made at the first render, so the patch lives until
            # close() (we hold the GL lock all that time).
            import pyrender.renderer as prr

            orig = prr.glRenderbufferStorageMultisample
            prr.glRenderbufferStorageMultisample = lambda tgt, _s, fmt, w, h: orig(tgt, 0, fmt, w, h)
            self._restore = (prr, orig)
        try:
            self.r = pr.OffscreenRenderer(W, H)
        except Exception:
            if self._restore is not None:
                self._restore[0].glRenderbufferStorageMultisample = self._restore[1]
            raise
        self.faces = faces
        self.scene = pr.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.35, 0.35, 0.37])
        self.cam = self.scene.add(pr.PerspectiveCamera(yfov=yfov, znear=0.05, zfar=60.0))
        self.light = self.scene.add(pr.DirectionalLight(color=np.ones(3), intensity=3.0))
        self.body = None
        self.materials = {}

    def render(self, verts, normals, color, cam_pose, background):
        pr = self.pr
        if self.body is not None:
            self.scene.remove_node(self.body)
        if color not in self.materials:
            self.materials[color] = pr.MetallicRoughnessMaterial(
                baseColorFactor=[*color, 1.0], metallicFactor=0.0, roughnessFactor=0.7)
        prim = pr.Primitive(positions=verts, normals=normals, indices=self.faces, material=self.materials[color])
        self.body = self.scene.add(pr.Mesh([prim]))
        self.scene.set_pose(self.cam, cam_pose)
        self.scene.set_pose(self.light, look_at(cam_pose[:3, 3] + [2.0, 3.0, 0.0], cam_pose[:3, 3] * [1, 0, 1]))
        rgba, _ = self.r.render(self.scene, flags=pr.RenderFlags.RGBA)
        a = rgba[..., 3:4].astype(np.float32) / 255.0
        return (rgba[..., :3] * a + background * (1 - a)).astype(np.uint8)

    def close(self):
        try:
            self.r.delete()
        finally:
            if self._restore is not None:
                self._restore[0].glRenderbufferStorageMultisample = self._restore[1]


def _draw_stick(img: np.ndarray, joints: np.ndarray, color, cam_pose, yfov) -> np.ndarray:
    H, W = img.shape[:2]
    uv, depth = project(joints, cam_pose, yfov, W, H)
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    c = tuple(int(255 * x) for x in color)
    for j in range(1, len(PARENTS)):
        p = PARENTS[j]
        if depth[j] > 0.05 and depth[p] > 0.05:
            d.line([tuple(uv[p]), tuple(uv[j])], fill=c, width=max(3, W // 100))
    for j in range(len(PARENTS)):
        x, y = uv[j]
        r = max(3, W // 110) + (4 if j == 15 else 0)
        d.ellipse([x - r, y - r, x + r, y + r], fill=(40, 40, 40) if j != 15 else c)
    return np.asarray(pil)


def _wrap(text: str, font, width: int, draw) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        test = f"{cur} {w}".strip()
        if draw.textlength(test, font=font) <= width or not cur:
            cur = test
        else:
            lines.append(cur)
            cur = w
    lines = lines + [cur] if cur else lines
    if len(lines) > 2:  # two lines fit the bar: cut the second with an ellipsis
        second = lines[1]
        while second and draw.textlength(second + " ...", font=font) > width:
            second = second[:-1]
        lines = [lines[0], second.rstrip() + " ..."]
    return lines


def render_video(path, motions, labels=None, prompt: str = "", fps: float = 20.0, body="mannequin",
                 mode: str = "mesh", colors=None, size: tuple[int, int] = (320, 320),
                 renderer: str = "auto", detail: float = 0.5, antialias: bool = False) -> Path:
    """Render motions side by side into an H.264 mp4.

    Args:
        path: output ``.mp4`` path.
        motions: list of ``(T, 22, 3)`` joint arrays (metres, Y up); shorter ones hold their last pose.
        labels: one label per motion (default ``A``, ``B``, ...).
        prompt: text shown in a bar under the panels.
        fps: frames per second of the motions and of the video.
        body: body kind (``"mannequin"``, ``"capsule"``, ``"smpl"``...) or a ``BodyModel``.
        mode: ``"mesh"`` (skinned body) or ``"stick"`` (stick figure).
        colors: one colour per motion.
        size: ``(width, height)`` of one panel in pixels (multiples of 16 recommended).
        renderer: ``"auto"`` (pyrender, numpy if GL fails), ``"gl"`` or ``"numpy"``.
        detail: mesh detail for video, 1.0 = full mesh; lower merges vertices (faster).
        antialias: pyrender's 4x multisampling (off by default: ~40 % slower on a CPU).

    Returns:
        The written path; the video has ``max(T)`` frames of ``(n * width) x (height + bar)``.
    """
    import imageio.v2 as imageio

    if isinstance(motions, np.ndarray) and motions.ndim == 3:
        motions = [motions]
    motions = [validate_joints(m, f"motion {i}") for i, m in enumerate(motions)]
    if not motions:
        raise ValueError("motions is empty; pass at least one (T, 22, 3) joint array")
    if mode not in ("mesh", "stick"):
        raise ValueError(f"mode must be 'mesh' or 'stick', got {mode!r}")
    if renderer not in ("auto", "gl", "numpy"):
        raise ValueError(f"renderer must be 'auto', 'gl' or 'numpy', got {renderer!r}")
    if not (np.isfinite(fps) and 0 < fps <= 120):
        raise ValueError(f"fps must be in (0, 120], got {fps}")
    W, H = (int(size[0]) // 16 * 16, int(size[1]) // 16 * 16)
    if W < 64 or H < 64:
        raise ValueError(f"panel size must be at least 64x64, got {size}")
    n = len(motions)
    labels = list(labels or [chr(ord("A") + i) for i in range(n)])
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} motions")
    colors = [parse_color(c) for c in (colors or DEFAULT_COLORS[:n])]
    T = max(m.shape[0] for m in motions)
    yfov = np.radians(45.0)

    base = get_body(body) if (mode == "mesh" and isinstance(body, str)) else body

    def make_tracks(mesh_body):
        """Pose every body once (batched LBS), lifted so its lowest point touches the floor."""
        out = []
        for m in motions:
            m = np.concatenate([m, np.repeat(m[-1:], T - m.shape[0], 0)]) if m.shape[0] < T else m
            if mode == "stick":
                low = min(0.0, float(m[..., 1].min()))
                out.append({"joints": m - [0, low, 0], "pelvis": m[:, 0]})
                continue
            bm, pose, low, _ = prepare_motion(mesh_body, m)
            v = bm.pose(pose, None, device="cpu")
            v[..., 1] -= low
            nrm = _vertex_normals_t(v, torch.as_tensor(bm.faces))
            out.append({"verts": v.numpy(), "normals": nrm.numpy(), "pelvis": m[:, 0]})
        return out

    # GL's cost is per triangle, so it gets a lighter mesh; the numpy splatter needs the dense
    # one to cover the surface.
    gl_body = base
    if mode == "mesh" and detail < 1.0 and base.num_vertices > 8000:
        gl_body = base.decimated(0.01 / max(detail, 0.05))
    tracks = make_tracks(gl_body if renderer != "numpy" else base)
    cams = [follow_cameras(tr["pelvis"]) for tr in tracks]

    bar = 64 if prompt else 0
    font_l, font_p = _font(max(14, H // 18)), _font(max(12, H // 24))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def compose(panels):
        frame = Image.new("RGB", (W * n, H + bar), (255, 255, 255))
        d = ImageDraw.Draw(frame)
        for i, p in enumerate(panels):
            frame.paste(Image.fromarray(p[..., :3]), (i * W, 0))
            d.rectangle([i * W + 8, 8, i * W + 8 + 14, 8 + 14], fill=tuple(int(255 * c) for c in colors[i]))
            d.text((i * W + 28, 4), labels[i], fill=(20, 20, 20), font=font_l)
            if i:
                d.line([(i * W, 0), (i * W, H)], fill=(255, 255, 255), width=2)
        if bar:
            for k, line in enumerate(_wrap(prompt, font_p, W * n - 20, d)):
                d.text((10, H + 6 + k * (font_p.size + 4)), line, fill=(30, 30, 30), font=font_p)
        return np.asarray(frame)

    def run(make_renderer, tracks):
        rend = make_renderer() if mode == "mesh" else None
        writer = imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7, pixelformat="yuv420p",
                                    macro_block_size=16, ffmpeg_log_level="error",
                                    output_params=["-movflags", "+faststart"])  # plays while loading
        try:
            for t in range(T):
                panels = []
                for i, tr in enumerate(tracks):
                    bg = _floor_image(cams[i][t], yfov, W, H, shadow=tr["pelvis"][t, [0, 2]])
                    if mode == "stick":
                        panels.append(_draw_stick(bg, tr["joints"][t], colors[i], cams[i][t], yfov))
                    else:
                        panels.append(rend.render(tr["verts"][t], tr["normals"][t], colors[i], cams[i][t], bg))
                writer.append_data(compose(panels))
        finally:
            writer.close()
            if rend is not None and hasattr(rend, "close"):
                rend.close()

    if mode == "stick":
        run(None, tracks)
        return path
    if renderer != "numpy":
        faces = gl_body.faces.astype(np.uint32)
        try:
            with _GL_LOCK:
                run(lambda: _GLRenderer(W, H, yfov, faces, antialias), tracks)
            return path
        except Exception as e:  # no EGL / driver: fall back unless GL was demanded
            if renderer == "gl":
                raise RuntimeError(f"OpenGL rendering failed ({e}); install libEGL/Mesa or use renderer='numpy'") from e
            warnings.warn(f"OpenGL rendering unavailable ({type(e).__name__}: {e}); using the slower "
                          f"numpy renderer", RuntimeWarning, stacklevel=2)
            tracks = make_tracks(base)
    run(lambda: _SplatRenderer(W, H, yfov), tracks)
    return path


__all__ = ["follow_cameras", "look_at", "project", "render_video"]
