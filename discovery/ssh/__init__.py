"""Linux hosts over SSH (paramiko): read-only commands, parsed into the agent's facts."""
