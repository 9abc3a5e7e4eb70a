"""Image views: shape and value range kept, identity at zero magnitude, seeded."""

import pytest
import torch

from graphclust.nn.augment import ImageViews, random_affine, random_cutout, resize_images


def _images(b=8, h=16, w=16, seed=0):
    return torch.rand(b, 1, h, w, generator=torch.Generator().manual_seed(seed))


def test_views_keep_shape_and_range_and_are_repeatable():
    x = _images()
    views = ImageViews()
    a = views(x, torch.Generator().manual_seed(1))
    b = views(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, views(x, torch.Generator().manual_seed(2)))


def test_zero_magnitudes_are_the_identity():
    x = _images()
    none = ImageViews(rotation=0, shift=0, crop_area=(1.0, 1.0), crop_aspect=(1.0, 1.0),
                      brightness=0, contrast=0, cutout_p=0)
    torch.testing.assert_close(none(x, torch.Generator().manual_seed(0)), x)
    # the affine map alone at zero magnitude resamples on the pixel centres: the identity
    torch.testing.assert_close(random_affine(x, torch.Generator(), rotation=0, shift=0,
                                             crop_area=(1.0, 1.0), crop_aspect=(1.0, 1.0)),
                               x, atol=1e-6, rtol=0)


def test_crop_takes_the_asked_part_of_the_image():
    """A quarter-area square crop of a horizontal ramp is the ramp zoomed in twice: each row
    spans half the ramp's range, every row alike (no rotation); crops stay inside the image
    (a flat image stays flat: no zoom-out, no border coming in)."""
    ramp = ((torch.arange(16) + 0.5) / 16).expand(256, 1, 16, 16).contiguous()
    out = random_affine(ramp, torch.Generator().manual_seed(0), rotation=0, shift=0,
                        crop_area=(0.25, 0.25), crop_aspect=(1.0, 1.0))
    span = out[..., -1] - out[..., 0]                      # (256, 1, 16): per row
    # (within a third of a pixel step: crops at the border read the clamped rim)
    torch.testing.assert_close(span, torch.full_like(span, 0.5 * 15 / 16), atol=0.02, rtol=0)
    torch.testing.assert_close(out, out[:, :, :1, :].expand_as(out), atol=1e-5, rtol=0)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(out[:, 0, 0, 0].std()) > 0.1             # the crops sit at different places
    full = torch.ones(64, 1, 16, 16)
    kept = random_affine(full, torch.Generator().manual_seed(1), rotation=0, shift=0,
                         crop_area=(0.3, 1.0))
    torch.testing.assert_close(kept, full)


def test_cutout_zeroes_one_square_per_hit_image():
    x = torch.ones(64, 1, 10, 10)
    out = random_cutout(x, torch.Generator().manual_seed(0), size=0.3, p=1.0)
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert int(zeros.max()) <= 9 and int((zeros > 0).sum()) > 32  # a 3 x 3 square at most
    untouched = random_cutout(x, torch.Generator().manual_seed(0), size=0.3, p=0.0)
    torch.testing.assert_close(untouched, x)


def test_views_reject_a_flat_batch():
    with pytest.raises(ValueError, match=r"images must be a batch \(B, C, H, W\)"):
        ImageViews()(torch.rand(4, 256), torch.Generator())


def test_resize_keeps_range_and_mean_of_a_flat_image():
    x = torch.full((3, 1, 28, 28), 0.25)
    out = resize_images(x, 16)
    assert out.shape == (3, 1, 16, 16)
    torch.testing.assert_close(out, torch.full_like(out, 0.25))
    ramp = _images(4, 28, 28)
    small = resize_images(ramp, 16, block=3)               # in blocks: the same
    torch.testing.assert_close(small, resize_images(ramp, 16))
    assert float(small.min()) >= 0 and float(small.max()) <= 1
    assert resize_images(small, 16) is small
