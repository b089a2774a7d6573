"""What the data and the methods are, declared as data: the contract, the instruments, the analyses."""
