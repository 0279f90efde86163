/* uart: prints "uart: ready", then echoes every received line as "uart: got '<line>'". A line
 * ends at \r or \n; empty lines (as in "\r\n") are not echoed. Lines longer than 120 characters
 * are echoed in pieces. Non-printable bytes are shown as \xNN. */
#include "guest.h"

#define LINE_MAX 120

int main(void)
{
	char line[LINE_MAX * 4 + 1];
	size_t len = 0, chars = 0;

	printf("uart: ready\n");
	for (;;) {
		int c = uart_getc();

		if (c < 0)
			continue;
		if (c == '\r' || c == '\n' || chars == LINE_MAX) {
			if (chars) {
				line[len] = '\0';
				printf("uart: got '%s'\n", line);
			}
			len = chars = 0;
			if (c == '\r' || c == '\n')
				continue;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			line[len++] = (char)c;
		} else {
			len += (size_t)snprintf(line + len, 5, "\\x%02x", (unsigned)c);
		}
		chars++;
	}
}
