/* Copyright: (c) 2026, containerops.fleet contributors
 * GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
 *
 * A test image's whole content: one static binary in FROM scratch - no shell, no curl, no wget, no python.
 * GET /healthz answers 200, or 500 when FLEET_NOSHELL_HEALTH=fail; any other path answers
 * "<FLEET_REPLICA> <FLEET_NOSHELL_VERSION>\n".  Port 8000.  SIGTERM: stop accepting, finish, exit.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) { (void)sig; stopping = 1; }

int main(void) {
    const char *replica = getenv("FLEET_REPLICA") ? getenv("FLEET_REPLICA") : "?";
    const char *version = getenv("FLEET_NOSHELL_VERSION") ? getenv("FLEET_NOSHELL_VERSION") : "0";
    int sick = getenv("FLEET_NOSHELL_HEALTH") && strcmp(getenv("FLEET_NOSHELL_HEALTH"), "fail") == 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int srv = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(8000), .sin_addr.s_addr = INADDR_ANY};
    if (bind(srv, (struct sockaddr *)&addr, sizeof addr) || listen(srv, 128)) return 1;
    char req[2048], body[512], resp[1024];
    while (!stopping) {
        int c = accept(srv, NULL, NULL);
        if (c < 0) continue;
        ssize_t n = read(c, req, sizeof req - 1);
        req[n > 0 ? n : 0] = 0;
        int health = strncmp(req, "GET /healthz", 12) == 0;
        int status = health && sick ? 500 : 200;
        snprintf(body, sizeof body, "%s %s\n", health ? (sick ? "sick" : "ok") : replica, health ? "" : version);
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           status, status == 200 ? "OK" : "Internal Server Error", strlen(body), body);
        (void)!write(c, resp, len);
        close(c);
    }
    close(srv);
    return 0;
}
