"""The standing adversarial suite: one module per door an attacker can knock on (uploads,
links, callbacks, sign-in, staff files, limits, deployment). Each test is an attack that
once worked or could; a new door gets a module here (README, "Security tests")."""
