"""mp4 rendering: frame count / size, GL and numpy renderers, stick mode, bad inputs."""

import imageio.v2 as imageio
import numpy as np
import pytest

from easytune_core.render import video

from _render_helpers import walk_joints


def _frames(path):
    r = imageio.get_reader(str(path))
    frames = [f for f in r]
    r.close()
    return frames


def _skip_with_unmaintained_pyrender():
    """The GL test needs the `render` extra's pyrender2; an environment that still has the
    original pyrender 0.1.x under NumPy 2 cannot render with GL (that case is tested below)."""
    try:
        video._import_pyrender()
    except ImportError as err:
        if "pyrender2" in str(err):
            pytest.skip(str(err))



@pytest.mark.slow
def test_two_bodies_side_by_side_gl(tmp_path):
    _skip_with_unmaintained_pyrender()
    A, B = walk_joints(8), walk_joints(6, speed=0.7)
    path = video.render_video(tmp_path / "ab.mp4", [A, B], labels=["A", "B"], prompt="a person walks",
                              size=(128, 128), renderer="gl")
    assert b"avc1" in path.read_bytes()[:100_000]  # H.264 in an mp4 container
    frames = _frames(path)
    assert len(frames) == 8  # the shorter motion holds its last pose
    assert frames[0].shape == (128 + 64, 256, 3)
    panel = frames[3][:128].astype(float)
    # each panel shows its body in its own colour (orange left, blue right) over the floor
    left, right = panel[:, :128], panel[:, 128:]
    assert ((left[..., 0] - left[..., 2]) > 80).sum() > 100
    assert ((right[..., 2] - right[..., 0]) > 80).sum() > 100


def test_missing_gl_falls_back_to_numpy_with_a_warning(tmp_path, monkeypatch):
    def no_gl():
        raise ImportError("no EGL here")

    monkeypatch.setattr(video, "_import_pyrender", no_gl)
    with pytest.warns(RuntimeWarning, match="numpy renderer"):
        path = video.render_video(tmp_path / "np.mp4", [walk_joints(4)], size=(96, 96))
    frames = _frames(path)
    assert len(frames) == 4 and frames[0].shape == (96, 96, 3)
    assert (np.abs(frames[2].astype(float) - [230, 115, 25]).sum(-1) < 90).sum() > 20  # orange body


def test_gl_demanded_but_missing_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(video, "_import_pyrender", lambda: (_ for _ in ()).throw(ImportError("x")))
    with pytest.raises(RuntimeError, match="OpenGL rendering failed"):
        video.render_video(tmp_path / "x.mp4", [walk_joints(3)], size=(64, 64), renderer="gl")


def test_stick_mode(tmp_path):
    path = video.render_video(tmp_path / "s.mp4", [walk_joints(5), walk_joints(5)], mode="stick", size=(96, 96))
    frames = _frames(path)
    assert len(frames) == 5 and frames[0].shape == (96, 192, 3)


def test_camera_projection_centres_the_target():
    pose = video.look_at(np.array([0.0, 1.0, 4.0]), np.array([0.0, 1.0, 0.0]))
    uv, depth = video.project(np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0]]), pose, np.radians(45), 100, 100)
    np.testing.assert_allclose(uv[0], [50, 50], atol=1e-6)
    assert uv[1, 1] < 50 and depth[0] == pytest.approx(4.0)


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        video.render_video(tmp_path / "x.mp4", [])
    bad = walk_joints(4)
    bad[1] = np.nan
    with pytest.raises(ValueError, match="motion 0 contains NaN"):
        video.render_video(tmp_path / "x.mp4", [bad])
    with pytest.raises(ValueError, match="labels"):
        video.render_video(tmp_path / "x.mp4", [walk_joints(3)], labels=["A", "B"])
    with pytest.raises(ValueError, match="mode"):
        video.render_video(tmp_path / "x.mp4", [walk_joints(3)], mode="wire")
    with pytest.raises(ValueError, match="shape"):
        video.render_video(tmp_path / "x.mp4", [np.zeros((3, 22))])


def test_unmaintained_pyrender_under_numpy2_is_reported_not_patched(monkeypatch):
    import sys
    import types

    old = types.ModuleType("pyrender")
    old.__version__ = "0.1.45"
    monkeypatch.setitem(sys.modules, "pyrender", old)
    monkeypatch.delattr(np, "infty", raising=False)
    with pytest.raises(ImportError, match="pip install pyrender2"):
        video._import_pyrender()
    assert not hasattr(np, "infty")  # numpy is left as it is
