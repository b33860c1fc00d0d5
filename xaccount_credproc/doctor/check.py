"""One line of doctor's report: a status, what was found, and the fix."""

OK, WARN, FAIL = "ok", "warn", "FAIL"


class Check:
    def __init__(self, status: str, what: str, fix: str = ""):
        self.status, self.what, self.fix = status, what, fix

    def __str__(self) -> str:
        return f"{self.status:4}  {self.what}" + (f"; {self.fix}" if self.fix else "")
