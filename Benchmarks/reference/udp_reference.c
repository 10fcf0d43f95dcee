// The machine's own UDP send limit, for comparing Sluice's RTP fan-out against.
// Sends datagrams of SIZE bytes to 127.0.0.1:PORT for SECONDS with send() one per call,
// sendmmsg() 32 per call, or UDP GSO (UDP_SEGMENT, 32 segments per send), and prints
// packets/s. A child process drains the port so the sends see a live receiver.
//
//   cc -O2 -o udp_reference udp_reference.c
//   taskset -c 0 ./udp_reference send|sendmmsg|gso SIZE SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s send|sendmmsg|gso SIZE SECONDS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    int size = atoi(argv[2]);
    double seconds = atof(argv[3]);
    if (size < 1 || size > 1472 || seconds <= 0) {
        fprintf(stderr, "SIZE must be 1..1472 and SECONDS positive\n");
        return 2;
    }
    int receiver = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int buffer = 8 << 20;
    setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    if (bind(receiver, (struct sockaddr *)&address, sizeof address) != 0) { perror("bind"); return 1; }
    socklen_t length = sizeof address;
    getsockname(receiver, (struct sockaddr *)&address, &length);
    pid_t drain = fork();
    if (drain == 0) {
        char sink[65536];
        for (;;) recv(receiver, sink, sizeof sink, 0);
    }
    close(receiver);

    int sender = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    if (connect(sender, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 1; }
    enum { batch = 32 };
    static char payload[batch * 1472];
    memset(payload, 0x47, sizeof payload);
    struct mmsghdr messages[batch];
    struct iovec vectors[batch];
    for (int i = 0; i < batch; i++) {
        vectors[i].iov_base = payload + i * size;
        vectors[i].iov_len = size;
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int gso = strcmp(mode, "gso") == 0;
    if (gso) {
        int segment = size;
        if (setsockopt(sender, IPPROTO_UDP, UDP_SEGMENT, &segment, sizeof segment) != 0) { perror("UDP_SEGMENT"); return 1; }
    }
    long packets = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        for (int round = 0; round < 64; round++) {
            if (strcmp(mode, "send") == 0) {
                if (send(sender, payload, size, 0) == size) packets++;
            } else if (strcmp(mode, "sendmmsg") == 0) {
                int sent = sendmmsg(sender, messages, batch, 0);
                if (sent > 0) packets += sent;
            } else if (gso) {
                if (send(sender, payload, (size_t)size * batch, 0) > 0) packets += batch;
            } else {
                fprintf(stderr, "unknown mode %s\n", mode);
                return 2;
            }
        }
    }
    double elapsed = now() - start;
    kill(drain, SIGKILL);
    waitpid(drain, NULL, 0);
    printf("{\"mode\":\"%s\",\"size\":%d,\"seconds\":%.3f,\"packets\":%ld,\"packetsPerSecond\":%.0f,\"gigabitsPerSecond\":%.3f}\n",
           mode, size, elapsed, packets, packets / elapsed, packets * (double)size * 8 / elapsed / 1e9);
    return 0;
}
