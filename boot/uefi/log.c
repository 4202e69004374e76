/* Error reporting: one line naming what failed and the firmware's status, then the caller returns. */
#include "loader.h"

EFI_STATUS efi_error(EFI_STATUS status, const CHAR16 *what)
{
	Print(L"hv-efi: error: %s: %r\n", what, status);
	return status;
}
