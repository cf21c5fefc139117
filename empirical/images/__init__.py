"""Photographs through DiffC: quality and realism measures, and the evaluation beside JPEG and WebP.

``python -m empirical.images --images DIR --scale 1/8`` (:mod:`empirical.images.evaluate`) codes every
photograph of a folder as one progressive stream with the stationary Gaussian oracle and reports
PSNR, MS-SSIM, realism proxies (:mod:`empirical.images.metrics`) and the closed forms given each image.
The codec's image API is :func:`empirical.codec.encode_image` / :func:`empirical.codec.decode_image`
(re-exported here); reading and writing image files is :mod:`empirical.image_files`.
"""
from empirical.codec.image import decode_image, encode_image

__all__ = ["encode_image", "decode_image"]
