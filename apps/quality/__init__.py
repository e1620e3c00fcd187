"""Data governance and checks of the work done: data-quality rules over the stored data
and their items for the villages, self-check rounds (自查自纠), reconciliation of the
books (账账相符), and the monthly spot checks of decided cases (抽验复核)."""
