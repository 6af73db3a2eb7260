"""The distance of a sample's latent code to the training codes."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def kth_neighbour_distance(queries: Tensor, reference: Tensor, k: int) -> Tensor:
    """Euclidean distance of each query row to its ``k``-th nearest reference row.

    Computed in float64 from the expansion ``|q|^2 - 2 q.r + |r|^2`` (matrix
    products, which ONNX exports), clipped at zero before the square root.
    ``k`` larger than the reference set means its farthest row.

    Examples
    --------
    >>> import torch
    >>> reference = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    >>> kth_neighbour_distance(torch.tensor([[0.0, 0.0]]), reference, 2)
    tensor([5.], dtype=torch.float64)
    """
    queries = queries.double()
    reference = reference.double()
    squared = (
        queries.pow(2).sum(dim=1, keepdim=True)
        - 2.0 * queries @ reference.T
        + reference.pow(2).sum(dim=1)
    )
    k = min(int(k), reference.shape[0])
    nearest = torch.topk(squared, k, dim=1, largest=False).values[:, k - 1]
    return nearest.clamp_min(0.0).sqrt()


class LatentNeighbourScore(nn.Module):
    """Distance of a sample's latent code to its ``k``-th nearest training code.

    ``score(x) = ||encode(x) - c_(k)||`` with ``c_(k)`` the ``k``-th nearest of
    the reference codes (the codes of the training rows), as PyOD's KNN
    (``method="largest"``) measures it in the input space. Larger = more
    anomalous. Computed in float64.

    Parameters
    ----------
    autoencoder : nn.Module
        Has an ``encode(x)`` method returning the codes (flattened if not
        flat).
    reference_codes : Tensor of shape (n_reference, latent_dim)
        The training rows' codes.
    n_neighbors : int
        Which neighbour's distance is the score (``k``).

    Examples
    --------
    >>> import torch
    >>> from skanomaly.nets import MLPAutoencoder
    >>> from skanomaly.scores import LatentNeighbourScore
    >>> ae = MLPAutoencoder(6, (4, 2))
    >>> codes = ae.encode(torch.rand(20, 6)).detach()
    >>> LatentNeighbourScore(ae, codes, 5)(torch.rand(3, 6)).shape
    torch.Size([3])
    """

    def __init__(
        self, autoencoder: nn.Module, reference_codes: Tensor, n_neighbors: int
    ) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        reference = torch.as_tensor(reference_codes).double()
        if reference.ndim != 2 or reference.shape[0] == 0:
            raise ValueError(
                "reference_codes must be a non-empty 2-D array of codes; got shape "
                f"{tuple(reference.shape)}."
            )
        self.register_buffer("reference_codes", reference)
        self.n_neighbors = int(n_neighbors)

    def forward(self, x: Tensor) -> Tensor:
        codes = self.autoencoder.encode(x).flatten(1)
        return kth_neighbour_distance(codes, self.reference_codes, self.n_neighbors)
