"""Batched random views of small greyscale images, in plain torch.

Hand-written because the registry's torchvision is a CUDA build whose compiled ops do not load
beside the CPU torch here, and kornia is not in the registry. Every op draws its randomness from
the ``generator`` it is given, works on a whole batch (B, C, H, W) at once, keeps the shape and
keeps values in [0, 1] (inputs are expected there: pixels).

The views are those proposed for GCC on small images in ``gcc-notes.md`` (our CPU section, not
the authors' ImageNet-style pipeline): a random resized crop with a shift and a rotation as
one resampling (no flips, which would change digits), then brightness and contrast, then a
cutout square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

__all__ = ["ImageViews", "random_affine", "random_brightness_contrast", "random_cutout",
           "resize_images"]


def _uniform(n: int, low: float, high: float, generator: torch.Generator,
             device: torch.device) -> torch.Tensor:
    return (low + (high - low) * torch.rand(n, generator=generator)).to(device)


def random_affine(images: torch.Tensor, generator: torch.Generator, *,
                  rotation: float = 15.0, shift: float = 0.1,
                  crop_area: tuple[float, float] = (0.5, 1.0),
                  crop_aspect: tuple[float, float] = (3 / 4, 4 / 3)) -> torch.Tensor:
    """A random resized crop, shifted and rotated, as one bilinear resampling:
    (B, C, H, W) -> (B, C, H, W). Outside the image (a shift, a rotated corner, the half-pixel
    rim of a crop at the border) the nearest border pixel is repeated: the background of
    centred objects such as digits.

    Per image: a crop of U(*crop_area) of the image's area with aspect ratio log-uniform in
    ``crop_aspect`` (each side capped at the image's), placed uniformly inside the image
    (torchvision's RandomResizedCrop, [G]'s first view op: area 0.2-1 there, 0.5-1 in the
    notes' proposal for small images), then shifted by U(-shift, shift) of the side along each
    axis and rotated by U(-rotation, rotation) degrees, and resized to the full image. A crop
    never zooms out."""
    b, device = images.shape[0], images.device
    angle = _uniform(b, -rotation, rotation, generator, device) * (math.pi / 180)
    area = _uniform(b, crop_area[0], crop_area[1], generator, device)
    aspect = torch.exp(_uniform(b, math.log(crop_aspect[0]), math.log(crop_aspect[1]),
                                generator, device))
    w = torch.sqrt(area * aspect).clamp(max=1.0)  # the crop's sides, fractions of the image's
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    # the crop's centre in affine_grid's [-1, 1] frame: inside the image, then the extra shift
    tx = _uniform(b, -1, 1, generator, device) * (1 - w) + _uniform(
        b, -shift, shift, generator, device) * 2
    ty = _uniform(b, -1, 1, generator, device) * (1 - h) + _uniform(
        b, -shift, shift, generator, device) * 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    # input = R(angle) diag(w, h) output + t: the output frame spans the rotated crop
    theta = torch.stack([torch.stack([w * cos, -h * sin, tx], 1),
                         torch.stack([w * sin, h * cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.clamp(0.0, 1.0)


def random_brightness_contrast(images: torch.Tensor, generator: torch.Generator, *,
                               brightness: float = 0.4, contrast: float = 0.4) -> torch.Tensor:
    """x -> clamp((x - m) c + m + b), m the image's mean, c ~ U(1 - contrast, 1 + contrast),
    b ~ U(-brightness, brightness) / 2 per image: (B, C, H, W) -> (B, C, H, W) in [0, 1]."""
    n, device = images.shape[0], images.device
    c = _uniform(n, 1 - contrast, 1 + contrast, generator, device).view(-1, 1, 1, 1)
    shift = (_uniform(n, -brightness, brightness, generator, device) / 2).view(-1, 1, 1, 1)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return ((images - mean) * c + mean + shift).clamp(0.0, 1.0)


def random_cutout(images: torch.Tensor, generator: torch.Generator, *, size: float = 0.3,
                  p: float = 0.5) -> torch.Tensor:
    """With probability ``p`` per image, zero a square of side ``size`` x the image's side at
    a uniform position (it may overlap the border): (B, C, H, W) -> (B, C, H, W)."""
    b, _, h, w = images.shape
    device = images.device
    side_h, side_w = max(1, round(size * h)), max(1, round(size * w))
    top = (torch.rand(b, generator=generator) * (h + side_h) - side_h).round().to(device)
    left = (torch.rand(b, generator=generator) * (w + side_w) - side_w).round().to(device)
    hit = (torch.rand(b, generator=generator) < p).to(device)
    rows = torch.arange(h, device=device).view(1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, w)
    inside = ((rows >= top.view(-1, 1, 1)) & (rows < top.view(-1, 1, 1) + side_h)
              & (cols >= left.view(-1, 1, 1)) & (cols < left.view(-1, 1, 1) + side_w))
    mask = (inside & hit.view(-1, 1, 1)).unsqueeze(1)
    return images.masked_fill(mask, 0.0)


def resize_images(images: torch.Tensor, size: int, block: int = 4096) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, size, size) by antialiased bilinear resampling, in blocks of
    ``block`` images, values kept in [0, 1]; unchanged when already that size."""
    if tuple(images.shape[2:]) == (size, size):
        return images
    return torch.cat([F.interpolate(images[s:s + block], size=(size, size), mode="bilinear",
                                    antialias=True, align_corners=False).clamp(0.0, 1.0)
                      for s in range(0, images.shape[0], block)])


@dataclass(frozen=True)
class ImageViews:
    """One random view of each image of a batch: affine, then brightness/contrast, then
    cutout. Magnitudes of 0 (and ``cutout_p=0``) turn an op into the identity."""

    rotation: float = 15.0
    shift: float = 0.1
    crop_area: tuple[float, float] = (0.5, 1.0)
    crop_aspect: tuple[float, float] = (3 / 4, 4 / 3)
    brightness: float = 0.4
    contrast: float = 0.4
    cutout_size: float = 0.3
    cutout_p: float = 0.5

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"images must be a batch (B, C, H, W) but have shape "
                             f"{tuple(images.shape)}.")
        out = images
        if (self.rotation or self.shift or self.crop_area != (1.0, 1.0)
                or self.crop_aspect != (1.0, 1.0)):
            out = random_affine(out, generator, rotation=self.rotation, shift=self.shift,
                                crop_area=self.crop_area, crop_aspect=self.crop_aspect)
        if self.brightness or self.contrast:
            out = random_brightness_contrast(out, generator, brightness=self.brightness,
                                             contrast=self.contrast)
        if self.cutout_p > 0 and self.cutout_size > 0:
            out = random_cutout(out, generator, size=self.cutout_size, p=self.cutout_p)
        return out
