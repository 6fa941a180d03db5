import torch

from tastevec.common.rank_loss import halves_rank_loss, rank_loss


def test_halves_pairs_item_i_with_item_i_plus_half() -> None:
    targets = torch.tensor([0.9, 0.1, 0.1, 0.9])  # pairs (0, 2): 0 better; (1, 3): 3 better
    right = halves_rank_loss(torch.tensor([0.8, 0.2, 0.3, 0.7]), targets)
    wrong = halves_rank_loss(torch.tensor([0.3, 0.7, 0.8, 0.2]), targets)
    assert right < wrong


def test_halves_ignores_ties_and_a_single_item() -> None:
    predictions = torch.tensor([0.2, 0.9], requires_grad=True)
    assert halves_rank_loss(predictions, torch.tensor([0.5, 0.5])) == 0
    assert halves_rank_loss(predictions[:1], torch.tensor([0.5])) == 0


def test_halves_matches_the_all_pairs_loss_on_one_pair() -> None:
    predictions, targets = torch.tensor([0.3, 0.6]), torch.tensor([0.2, 0.8])
    assert torch.isclose(halves_rank_loss(predictions, targets), rank_loss(predictions, targets))
