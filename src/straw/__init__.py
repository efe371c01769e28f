"""straw: the package behind the book *Through a Straw*.

The map, by part of the book and by layer. A module imports only from its own layer and the
layers below it (tests/test_architecture.py enforces it, imports inside functions and under
TYPE_CHECKING included), so each layer can be read knowing only the ones beneath it.

    foundations   estimators   Part I: REINFORCE estimators, exact enumeration, Monte Carlo
                  show         shows package source and boards inside a chapter
    rules         coords       how Go is written: points ('C3'), results ('B+3.5'), X and O
                  game         the Game protocol (players, outcomes, actions) every game keeps
                  tictactoe    tic-tac-toe, the smallest game
                  go           Part II: Go under Tromp-Taylor rules; replay, the move cap
                  sgf          game records in SGF, replayed through go
                  tokens       Part III: token tasks and their verifiers, as one-player games
    search        mcts         UCT and PUCT tree search that knows no game; batched evaluation
                  gumbel       Gumbel root search: sequential halving, completed Q-values
                  solver       exact alpha-beta solver of small games (tic-tac-toe, Go 2x2)
    networks      nets         the policy-value network of Go; input planes, symmetries, files
                  transformer  a tiny causal transformer over tokens
    training      selfplay     self-play of many games at once, batched through the network
                  outcome_rl   Go through the straw: policy gradient from the game's result
                  train        the training loop (AlphaZero or outcome_rl): buffer, checkpoints
                  policy_gradients  policy gradients on token tasks: REINFORCE, RLOO, GRPO, KL
                  expert_iteration  expert iteration on token tasks: search, distil
    evaluation    arena        the Player protocol, make_player, games, matches, Elo
                  gtp_client   a GTP engine (GNU Go) as a player
    interfaces    gtp          the GTP engine that serves a player to Go GUIs
                  __main__     the command line: python -m straw gtp | train

Two more rules keep the book's argument visible: the search (mcts, gumbel) imports no game, and
the networks import no search; the search asks for an `evaluate(states)` function instead.
"""

__version__ = "0.1.0"
