"""PowerShell (Windows): a Windows Forms dialog with a password box, closed by a timer."""

EXECUTABLE = "powershell.exe"
GAVE_UP_EXIT = 5

SCRIPT = """\
Add-Type -AssemblyName System.Windows.Forms
$form = New-Object System.Windows.Forms.Form
$form.Text = {title}
$form.Width = 460; $form.Height = 200; $form.TopMost = $true
$form.StartPosition = 'CenterScreen'
$label = New-Object System.Windows.Forms.Label
$label.Text = {text}; $label.Left = 10; $label.Top = 10; $label.Width = 420; $label.Height = 60
$box = New-Object System.Windows.Forms.TextBox
$box.UseSystemPasswordChar = $true; $box.Left = 10; $box.Top = 75; $box.Width = 420
$ok = New-Object System.Windows.Forms.Button
$ok.Text = 'OK'; $ok.Left = 270; $ok.Top = 110; $ok.DialogResult = 'OK'
$cancel = New-Object System.Windows.Forms.Button
$cancel.Text = 'Cancel'; $cancel.Left = 355; $cancel.Top = 110; $cancel.DialogResult = 'Cancel'
$form.Controls.AddRange(@($label, $box, $ok, $cancel))
$form.AcceptButton = $ok; $form.CancelButton = $cancel
$timer = New-Object System.Windows.Forms.Timer
$timer.Interval = {milliseconds}
$timer.Add_Tick({{ $form.Tag = 'gave-up'; $form.Close() }})
$timer.Start()
$result = $form.ShowDialog()
if ($form.Tag -eq 'gave-up') {{ exit {gave_up} }}
if ($result -eq 'OK') {{ [Console]::Out.Write($box.Text); exit 0 }}
exit 1
"""


def _string(text: str) -> str:
    """A PowerShell single-quoted string (no expansion; ' doubled)."""
    return "'" + text.replace("'", "''") + "'"


def arguments(title: str, text: str, timeout: int) -> list[str]:
    script = SCRIPT.format(title=_string(title), text=_string(text),
                           milliseconds=timeout * 1000, gave_up=GAVE_UP_EXIT)
    return ["-NoProfile", "-NonInteractive", "-Command", script]


def answer(returncode: int, stdout: str, stderr: str) -> str:
    from . import Cancelled, GaveUp

    if returncode == 0:
        return stdout.strip()
    if returncode == GAVE_UP_EXIT:
        raise GaveUp()
    raise Cancelled()
