package dev.gatehouse.proxy.internal.exchange;

import io.undertow.connector.ByteBufferPool;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.HttpUpgradeListener;
import io.undertow.server.SSLSessionInfo;
import io.undertow.server.ServerConnection;
import io.undertow.util.HeaderMap;
import io.undertow.util.HttpString;
import io.undertow.util.Protocols;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import org.xnio.ChannelListener;
import org.xnio.Option;
import org.xnio.OptionMap;
import org.xnio.Pool;
import org.xnio.StreamConnection;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;
import org.xnio.conduits.StreamSinkConduit;

/**
 * An exchange without a client, for requests the proxy makes on its own behalf: a cache revalidating a
 * stored response in the background. It runs on the I/O thread of the exchange it was made from, goes
 * through the same terminal (routes, load balancing, pools, timeouts) as a client's request would, and
 * its response is read with {@link ResponseImpl#discardBody(dev.gatehouse.proxy.ProxyResponse)} (with an observer storing it). It has no
 * request body, sends nothing anywhere and is not seen by access logs.
 */
public final class DetachedExchange {
  private DetachedExchange() {}

  /**
   * A new exchange for {@code method} to the same target as {@code template}, with {@code headers} as
   * its request fields (the template's request as filters left it, typically, plus conditional fields).
   * Must be called on {@code template}'s I/O thread.
   */
  public static ExchangeImpl from(ExchangeImpl template, String method, HeaderMap headers) {
    HttpServerExchange t = template.hse();
    DetachedConnection conn = new DetachedConnection(t.getConnection());
    HttpServerExchange hse = new HttpServerExchange(conn, headers, new HeaderMap(), -1);
    hse.setRequestMethod(HttpString.tryFromString(method));
    hse.setProtocol(Protocols.HTTP_1_1);
    hse.setRequestScheme(t.getRequestScheme());
    hse.setRequestURI(t.getRequestURI(), t.isHostIncludedInRequestURI());
    hse.setRequestPath(t.getRequestPath());
    hse.setRelativePath(t.getRelativePath());
    hse.setQueryString(t.getQueryString());
    hse.setSourceAddress(t.getSourceAddress());
    hse.setDestinationAddress(t.getDestinationAddress());
    RequestImpl src = template.requestImpl();
    RequestImpl request = new RequestImpl(hse, src.scheme(), src.authority(), src.path(), src.query(), 0, false);
    request.method(method);
    ExchangeImpl ex = new ExchangeImpl(template.engine(), hse, request, System.nanoTime());
    ex.realClientIp(template.realClientIp());
    return ex;
  }

  /** A connection that is no connection: it lends the template connection's thread, worker and buffers. */
  private static final class DetachedConnection extends ServerConnection {
    private final ServerConnection template;

    DetachedConnection(ServerConnection template) {
      this.template = template;
    }

    @Override
    @SuppressWarnings("deprecation")
    public Pool<ByteBuffer> getBufferPool() {
      return template.getBufferPool();
    }

    @Override
    public ByteBufferPool getByteBufferPool() {
      return template.getByteBufferPool();
    }

    @Override
    public XnioWorker getWorker() {
      return template.getWorker();
    }

    @Override
    public XnioIoThread getIoThread() {
      return template.getIoThread();
    }

    @Override
    public HttpServerExchange sendOutOfBandResponse(HttpServerExchange exchange) {
      throw new UnsupportedOperationException("a detached exchange has no client");
    }

    @Override
    public boolean isContinueResponseSupported() {
      return false;
    }

    @Override
    public void terminateRequestChannel(HttpServerExchange exchange) {
      // no request body
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public boolean supportsOption(Option<?> option) {
      return false;
    }

    @Override
    public <T> T getOption(Option<T> option) {
      return null;
    }

    @Override
    public <T> T setOption(Option<T> option, T value) {
      return null;
    }

    @Override
    public void close() {
      // nothing to close
    }

    @Override
    public ChannelListener.Setter<? extends ServerConnection> getCloseSetter() {
      return listener -> { };
    }

    @Override
    public SocketAddress getPeerAddress() {
      return template.getPeerAddress();
    }

    @Override
    public <A extends SocketAddress> A getPeerAddress(Class<A> type) {
      return template.getPeerAddress(type);
    }

    @Override
    public SocketAddress getLocalAddress() {
      return template.getLocalAddress();
    }

    @Override
    public <A extends SocketAddress> A getLocalAddress(Class<A> type) {
      return template.getLocalAddress(type);
    }

    @Override
    public OptionMap getUndertowOptions() {
      return template.getUndertowOptions();
    }

    @Override
    public int getBufferSize() {
      return template.getBufferSize();
    }

    @Override
    public SSLSessionInfo getSslSessionInfo() {
      return null;
    }

    @Override
    public void setSslSessionInfo(SSLSessionInfo sessionInfo) {
      // not TLS
    }

    @Override
    public void addCloseListener(CloseListener listener) {
      // never closes
    }

    @Override
    protected StreamConnection upgradeChannel() {
      throw new UnsupportedOperationException("a detached exchange cannot upgrade");
    }

    @Override
    protected ConduitStreamSinkChannel getSinkChannel() {
      return null;
    }

    @Override
    protected ConduitStreamSourceChannel getSourceChannel() {
      return null;
    }

    @Override
    protected StreamSinkConduit getSinkConduit(HttpServerExchange exchange, StreamSinkConduit conduit) {
      return conduit;
    }

    @Override
    protected boolean isUpgradeSupported() {
      return false;
    }

    @Override
    protected boolean isConnectSupported() {
      return false;
    }

    @Override
    protected void exchangeComplete(HttpServerExchange exchange) {
      // nothing waits for it
    }

    @Override
    protected void setUpgradeListener(HttpUpgradeListener upgradeListener) {
      // never upgrades
    }

    @Override
    protected void setConnectListener(HttpUpgradeListener connectListener) {
      // never connects
    }

    @Override
    protected void maxEntitySizeUpdated(HttpServerExchange exchange) {
      // no request body
    }

    @Override
    public String getTransportProtocol() {
      return "detached";
    }

    @Override
    public boolean isRequestTrailerFieldsSupported() {
      return false;
    }
  }
}
