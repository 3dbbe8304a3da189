"""A tiny MLP built from nn.Module and helper functions: the exact-line capture test profiles it."""
import torch


def make_model(width):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU())


def hidden_layer(x, weight):
    h = torch.nn.functional.linear(x, weight)  # exact-line: linear
    return torch.relu(h)  # exact-line: relu


def forward(model, x, weight):
    y = model(x)
    return hidden_layer(y, weight)


def main():
    model = make_model(32)
    weight = torch.randn(32, 32)
    for _ in range(3):
        x = torch.randn(16, 32)
        out = forward(model, x, weight)
    print("sum", float(out.sum()))


if __name__ == "__main__":
    main()
