"""Fetching an item's `image_url` (only for datasets with `image_urls: true`): one GET with a
timeout, read no further than the dataset's byte limit. Every failure is a reason, never an
exception: the item is rejected with it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class FetchFailed(Exception):
    """The image could not be fetched; the message says why."""


@dataclass
class ImageFetcher:
    timeout_s: float

    async def fetch(self, url: str, max_bytes: int) -> bytes:
        """The body at `url`, at most `max_bytes` long; FetchFailed naming the fault."""
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise FetchFailed(f"image_url: GET {url} answered {response.status_code}")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchFailed(
                        f"image_url: the image has {declared} bytes; at most {max_bytes} allowed"
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchFailed(
                            f"image_url: the image is over {max_bytes} bytes (max_image_bytes)"
                        )
                return bytes(body)
        except httpx.HTTPError as error:
            raise FetchFailed(
                f"image_url: GET {url} failed: {type(error).__name__}: {error}"
            ) from None
