"""The Web Connector's SOAP service (QBWebConnectorSvc), served by spyne at ``/qbwc``, WSDL at ``/qbwc?wsdl``.

Namespace, operation names, parameter names and result element names are those of Intuit's
QBWebConnectorSvc WSDL (document/literal, ``http://developer.intuit.com/``): QBWC matches them exactly.
spyne (a maintained SOAP server library) builds the envelopes and the WSDL from these declarations.
"""

from __future__ import annotations

from typing import Any

from spyne import Application, Integer, ServiceBase, Unicode, rpc
from spyne.model.complex import Array
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from quickbooks_desktop_bridge.service import SERVER_VERSION, Bridge

NAMESPACE = "http://developer.intuit.com/"
ArrayOfString = Array(Unicode, type_name="ArrayOfString")


def soap_application(bridge: Bridge) -> WsgiApplication:
    class QBWebConnectorSvc(ServiceBase):
        @rpc(_returns=Unicode, _body_style="wrapped")
        def serverVersion(ctx: Any) -> str:  # noqa: N802 - Intuit's operation names
            return SERVER_VERSION

        @rpc(Unicode(sub_name="strVersion"), _returns=Unicode)
        def clientVersion(ctx: Any, strVersion: str) -> str:  # noqa: N802, N803
            return ""  # any Web Connector version will do

        @rpc(Unicode(sub_name="strUserName"), Unicode(sub_name="strPassword"), _returns=ArrayOfString)
        def authenticate(ctx: Any, strUserName: str, strPassword: str) -> list[str]:  # noqa: N803
            return bridge.authenticate(strUserName or "", strPassword or "")

        @rpc(Unicode(sub_name="ticket"), Unicode(sub_name="strHCPResponse"), Unicode(sub_name="strCompanyFileName"),
             Unicode(sub_name="qbXMLCountry"), Integer(sub_name="qbXMLMajorVers"), Integer(sub_name="qbXMLMinorVers"),
             _returns=Unicode)
        def sendRequestXML(ctx: Any, ticket: str, strHCPResponse: str, strCompanyFileName: str,  # noqa: N802, N803
                           qbXMLCountry: str, qbXMLMajorVers: int, qbXMLMinorVers: int) -> str:  # noqa: N803
            return bridge.send_request_xml(ticket or "")

        @rpc(Unicode(sub_name="ticket"), Unicode(sub_name="response"), Unicode(sub_name="hresult"),
             Unicode(sub_name="message"), _returns=Integer)
        def receiveResponseXML(ctx: Any, ticket: str, response: str, hresult: str,  # noqa: N802
                               message: str) -> int:
            return bridge.receive_response_xml(ticket or "", response or "", hresult or "", message or "")

        @rpc(Unicode(sub_name="ticket"), Unicode(sub_name="hresult"), Unicode(sub_name="message"), _returns=Unicode)
        def connectionError(ctx: Any, ticket: str, hresult: str, message: str) -> str:  # noqa: N802
            return bridge.connection_error(ticket or "", hresult or "", message or "")

        @rpc(Unicode(sub_name="ticket"), _returns=Unicode)
        def getLastError(ctx: Any, ticket: str) -> str:  # noqa: N802
            return bridge.get_last_error(ticket or "")

        @rpc(Unicode(sub_name="ticket"), _returns=Unicode)
        def closeConnection(ctx: Any, ticket: str) -> str:  # noqa: N802
            return bridge.close_connection(ticket or "")

    application = Application([QBWebConnectorSvc], tns=NAMESPACE, name="QBWebConnectorSvc",
                              in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
    return WsgiApplication(application)
