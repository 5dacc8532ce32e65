"""The local history of exchanges (`ask`, `summarize`, `chat`): what was asked, what came back, by which model
and for how much, grouped into conversations that `route ask -c` and `route chat` continue. Beside the ledger,
never inside it: the ledger stays free of prompt text."""
