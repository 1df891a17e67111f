"""The matching engine: pure computations on plain arrays (no ORM), so it can be tested and
benchmarked without a database. diaspora.services.matching reads the rows, calls it and
writes the proposals back."""
