package dev.gatehouse.proxy.forward;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A raw TCP destination for tunnel tests: each accepted socket goes to the handler on its own thread. */
final class TcpPeer implements AutoCloseable {
  interface Handler {
    void handle(Socket socket) throws Exception;
  }

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "tcp-peer");
    t.setDaemon(true);
    return t;
  });
  private final CopyOnWriteArrayList<Socket> sockets = new CopyOnWriteArrayList<>();
  /** Failures and results the handler reports. */
  final BlockingQueue<Object> results = new LinkedBlockingQueue<>();

  TcpPeer(Handler handler) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    threads.execute(() -> {
      while (!server.isClosed()) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return;
        }
        sockets.add(s);
        threads.execute(() -> {
          try (Socket socket = s) {
            socket.setSoTimeout(20_000);
            handler.handle(socket);
          } catch (Exception e) {
            results.add(e);
          }
        });
      }
    });
  }

  int port() {
    return server.getLocalPort();
  }

  Object nextResult() throws InterruptedException {
    Object r = results.poll(20, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("the destination reported nothing within 20 s");
    }
    return r;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
    threads.shutdownNow();
  }
}
