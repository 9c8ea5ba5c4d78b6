"""The sequential-decision core (Powell): one vocabulary for every level of the twin.

- a state S_t: what a level knows at the close of day t (a frozen dataclass per level);
- exogenous information W_{t+1}: what arrives on day t+1 (``Exogenous``), built from the
  warehouse tables or from a hand-built or simulated path (``exogenous_path``);
- a policy X^pi: ``decide(S_t, W_{t+1}) -> x_{t+1}``, with a name and its parameters
  (``Policy``);
- a transition S_{t+1} = S^M(S_t, x_{t+1}, W_{t+1}) and a contribution
  C(S_t, x_{t+1}, W_{t+1});
- ``run``: the one loop that steps a ``Level`` through days carrying its state, and
  collects each day's record and contribution (a ``Trajectory``).

Every caller (the alpha-pool and solution-level assets, the back-test, the policy
search) steps its level with ``run``; none writes its own day loop. The month-end policy
search (scenario paths, candidates, the reference and vectorised evaluators, online
mode) is the subpackage ``twin_model.twin.search``.
"""

from twin_model.twin._core import Exogenous, Level, Policy, Trajectory, exogenous_path, run

__all__ = ["Exogenous", "Level", "Policy", "Trajectory", "exogenous_path", "run"]
